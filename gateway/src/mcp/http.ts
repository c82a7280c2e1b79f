import { ErrorCode, type JsonRpcErrorObject, type RequestId } from "@omni/contracts";
import { streamResumes } from "../observability/metrics.ts";
import type { Authenticator, Caller, McpAccess } from "../ports.ts";
import { originOf } from "../security/checks.ts";
import { JsonBodyError, parseJsonBody } from "../security/json.ts";
import { createLogger } from "../security/log.ts";
import type { Outbound } from "./core/context.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { classifyEra } from "./modern/era.ts";
import type { ModernHttp } from "./modern/handler.ts";
import {
  endedEventId,
  eventSeq,
  isPriming,
  isResponseTo,
  lostResponse,
  PostStreamHub,
  type PostStreamName,
  parsePostEventId,
} from "./post-stream.ts";
import {
  allowsBatch,
  classify,
  errorMessage,
  type Inbound,
  isSessionVersion,
  type Json,
  json,
  RpcError,
  resultMessage,
  SESSION_VERSIONS,
} from "./protocol.ts";
import { type Session, sessionCall } from "./session.ts";
import { eventId, type StreamEvent } from "./session-bus.ts";
import { ResponseChannel } from "./sse.ts";

/** How often a resumed POST stream checks its buffer and whether the request's replica is still there. */
const RESUME_CHECK_MS = 1000;

function httpError(status: number, code: number, message: string, data?: unknown): Response {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return json(status, errorMessage(null, error));
}

export interface StreamableHttpOptions {
  dispatcher: Dispatcher;
  authenticator: Authenticator;
  /** Maximum request body in bytes. Default 4 MiB. */
  maxBodyBytes: number;
  /** The stateless 2026-07-28 edge: POSTs classified modern are handed to it (gateway/src/mcp/modern). */
  modern?: ModernHttp;
  /** SSE keep-alive comment period on GET streams. */
  keepAliveMs: number;
  /**
   * Rate limits (429 + `Retry-After` + JSON-RPC -32029 per HTTP request), the 401 challenge
   * (`WWW-Authenticate: Bearer resource_metadata=...`) (gateway/src/auth/mcp.ts). Per-method checks and
   * the audit run in the dispatcher, once per request of either era.
   */
  access?: Pick<McpAccess, "consume" | "unauthorized" | "stepUp">;
}

/** Which endpoint a request reached, and how. */
export interface McpTarget {
  /** The peer is this machine (dev auth may apply). */
  loopback: boolean;
  /** The organization named by the URL (`/mcp/o/<slug>`). */
  orgSlug?: string | undefined;
  /** The bundle named by the URL (`/mcp/b/<slug>`). */
  bundle?: string | undefined;
  /** Headers the answer of a POST carries from the start (the listener's security headers). */
  headers?: Record<string, string> | undefined;
}

/** MCP Streamable HTTP (2025 era) on top of the dispatcher: POST, GET and DELETE of `/mcp`. */
export class StreamableHttp {
  /** Resumable POST response streams (`post-stream.ts`). */
  private readonly posts: PostStreamHub;

  constructor(private readonly opts: StreamableHttpOptions) {
    this.posts = new PostStreamHub(opts.dispatcher.sessions.bus);
  }

  /**
   * `target.orgSlug`: the organization named by the URL, for members of several. `target.bundle`: the bundle
   * named by the URL, looked up in the caller's organization (404 when it has none of that slug, whether
   * another org has one or not).
   */
  async handle(request: Request, target: McpTarget): Promise<Response> {
    const { loopback, orgSlug, bundle } = target;
    const mcp = { origin: originOf(request) ?? "http://127.0.0.1", ...(orgSlug ? { orgSlug } : {}) };
    const auth = await this.opts.authenticator.authenticate(request.headers, { loopback, mcp });
    const access = this.opts.access;
    if (!auth.ok && access) return access.unauthorized(auth, request);
    if (!auth.ok) {
      return json(
        auth.status,
        errorMessage(null, {
          code: ErrorCode.Unauthorized,
          message: auth.message,
          data: { reason: auth.reason },
        }),
        auth.status === 401
          ? { "www-authenticate": `Bearer error="invalid_token", error_description="${auth.reason}"` }
          : {},
      );
    }
    if (access) {
      let decision: Awaited<ReturnType<typeof access.consume>>;
      try {
        decision = await access.consume(auth);
      } catch {
        // The shared rate limit lives in Redis: down, the request is refused as retryable, not failed.
        return httpError(
          503,
          ErrorCode.ServerUnavailable,
          "Service unavailable: a dependency of the gateway (Redis) is down; retry shortly",
          { reason: "dependency_unavailable" },
        );
      }
      if (!decision.allowed) {
        return json(429, errorMessage(null, decision.error), {
          "retry-after": String(decision.retryAfterSeconds),
        });
      }
    }
    let caller: Caller = auth;
    if (bundle !== undefined) {
      let known: boolean;
      try {
        known = await this.opts.dispatcher.hasBundle(auth.org.orgId, bundle);
      } catch {
        // The org's configuration could not be read (database down): retryable, not "no such bundle".
        return httpError(503, ErrorCode.ServerUnavailable, "Service unavailable: retry shortly", {
          reason: "dependency_unavailable",
        });
      }
      if (!known) return httpError(404, -32001, `Bundle not found: ${bundle.slice(0, 64)}`);
      caller = { ...auth, bundle };
    }
    switch (request.method) {
      case "POST":
        return this.post(request, caller, target.headers);
      case "GET":
        return this.get(request, caller);
      case "DELETE":
        return this.delete(request, caller);
      default:
        return new Response(
          JSON.stringify(
            errorMessage(null, { code: -32000, message: "Method not allowed: use POST, GET or DELETE" }),
          ),
          { status: 405, headers: { allow: "GET, POST, DELETE", "content-type": "application/json" } },
        );
    }
  }

  /** The session named by `Mcp-Session-Id`, or the error response to send. */
  private async session(request: Request, auth: Caller): Promise<Session | Response> {
    const id = request.headers.get("mcp-session-id");
    if (!id) {
      return httpError(400, -32000, "Bad Request: Mcp-Session-Id header is required (send initialize first)");
    }
    let session: Session | undefined;
    try {
      session = await this.opts.dispatcher.sessions.resolve(id);
    } catch {
      // A replica meeting this session for the first time reads its shared state from Redis: down, retry.
      return httpError(
        503,
        ErrorCode.ServerUnavailable,
        "Service unavailable: a dependency of the gateway (Redis) is down; retry shortly",
        { reason: "dependency_unavailable" },
      );
    }
    // A session belongs to the credential that created it: another key of the same org (or user) gets 404.
    const owner = session?.caller;
    if (
      !session ||
      owner?.org.orgId !== auth.org.orgId ||
      owner.org.userId !== auth.org.userId ||
      owner.credentialId !== auth.credentialId ||
      // A session belongs to the endpoint (full or one bundle) it was initialized on.
      owner.bundle !== auth.bundle
    ) {
      return httpError(404, -32001, "Session not found: it ended or expired; initialize a new session");
    }
    // The credential of this request decides (an OAuth token stepped up to more scopes, a changed role).
    if (!samePermissions(session.caller.org.permissions, auth.org.permissions)) {
      session.caller = { ...session.caller, org: auth.org };
    }
    const header = request.headers.get("mcp-protocol-version");
    if (header !== null && !isSessionVersion(header)) {
      return httpError(400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${header}`, {
        supported: SESSION_VERSIONS,
        requested: header,
      });
    }
    return session;
  }

  private async post(request: Request, auth: Caller, headers?: Record<string, string>): Promise<Response> {
    const accept = request.headers.get("accept") ?? "";
    if (
      !(accept.includes("application/json") || accept.includes("*/*")) ||
      !(accept.includes("text/event-stream") || accept.includes("*/*"))
    ) {
      return httpError(
        406,
        -32000,
        "Not Acceptable: Accept must include application/json and text/event-stream",
      );
    }
    const contentType = request.headers.get("content-type") ?? "";
    if (!contentType.includes("application/json")) {
      return httpError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > this.opts.maxBodyBytes) return this.tooLarge();
    const text = await request.text();
    if (text.length > this.opts.maxBodyBytes) return this.tooLarge();
    let body: unknown;
    try {
      body = parseJsonBody(text);
    } catch (error) {
      const deep = error instanceof JsonBodyError && error.reason === "depth";
      return httpError(
        400,
        ErrorCode.ParseError,
        deep ? `Parse error: ${error.message}` : "Parse error: the body is not valid JSON",
      );
    }
    const stepUp = this.opts.access?.stepUp?.(auth, body, request);
    if (stepUp) return stepUp;
    if (
      this.opts.modern &&
      classifyEra({ httpMethod: "POST", headers: request.headers, body }) === "modern"
    ) {
      return this.opts.modern.post(request, auth, body, headers);
    }
    const batch = Array.isArray(body);
    const messages: Inbound[] = (batch ? (body as unknown[]) : [body]).map(classify);
    if (batch && messages.length === 0) {
      return httpError(400, ErrorCode.InvalidRequest, "Invalid request: an empty batch");
    }

    const init = messages.find((m) => m.kind === "request" && m.method === "initialize");
    if (init && init.kind === "request") {
      if (messages.length > 1) {
        return httpError(
          400,
          ErrorCode.InvalidRequest,
          "Invalid request: initialize must be sent alone, not in a batch",
        );
      }
      if (request.headers.get("mcp-session-id")) {
        return httpError(
          400,
          ErrorCode.InvalidRequest,
          "Invalid request: initialize must be sent without Mcp-Session-Id",
        );
      }
      try {
        const { session, result } = await this.opts.dispatcher.initialize(auth, init.params);
        return json(200, resultMessage(init.id, result), { "mcp-session-id": session.token });
      } catch (error) {
        return json(200, errorMessage(init.id, toError(error)));
      }
    }

    const session = await this.session(request, auth);
    if (session instanceof Response) return session;
    if (batch && !allowsBatch(session.protocolVersion)) {
      return httpError(
        400,
        ErrorCode.InvalidRequest,
        `Invalid request: JSON-RPC batches are not supported in protocol ${session.protocolVersion}; send one message per POST`,
      );
    }

    const invalid = messages.filter((m) => m.kind === "invalid");
    if (!batch && invalid.length === 1) {
      const only = invalid[0]!;
      return json(
        400,
        errorMessage(
          only.kind === "invalid" ? only.id : null,
          only.kind === "invalid" ? only.error : toError(null),
        ),
      );
    }
    const requests = messages.filter((m) => m.kind === "request");
    for (const message of messages) {
      if (message.kind === "notification" || message.kind === "response") {
        void this.opts.dispatcher.accept(session, message);
      }
    }
    if (requests.length === 0 && invalid.length === 0) return new Response(null, { status: 202 });

    const only = requests[0];
    if (!batch && only?.kind === "request") {
      // A resumable stream (`post-stream.ts`) once the answer becomes SSE.
      const single = new ResponseChannel({
        ...(headers ? { headers } : {}),
        // (Only once the stream is open, long after `stream` is set.)
        onGone: () => stream.detach(),
      });
      const stream = this.posts.open(session.id, only.id, single);
      this.run(session, only.id, only.method, only.params, stream.out).then((reply) => stream.finish(reply));
      return single.response;
    }
    const channel = new ResponseChannel(headers ? { headers } : {});
    const replies = await Promise.all([
      ...invalid.map((m) => (m.kind === "invalid" ? errorMessage(m.id, m.error) : null)),
      ...requests.map((m) =>
        m.kind === "request" ? this.run(session, m.id, m.method, m.params, session.stream ?? channel) : null,
      ),
    ]);
    channel.finish(replies.filter((r): r is Json => r !== null));
    return channel.response;
  }

  /** Runs one request and always yields its response message. */
  private async run(
    session: Session,
    id: RequestId,
    method: string,
    params: Json,
    out: Outbound,
  ): Promise<Json> {
    const { call, end } = sessionCall(session, id, out);
    try {
      return resultMessage(id, await this.opts.dispatcher.request(call, method, params));
    } catch (error) {
      return errorMessage(id, toError(error));
    } finally {
      end();
    }
  }

  /**
   * The session's GET stream: every event carries an id and is kept in the session's replay buffer, so a
   * client reconnecting with `Last-Event-ID` (here or on another replica) first gets what it missed. A new
   * stream replaces the session's previous one (a client resuming after a broken connection).
   */
  private async get(request: Request, auth: Caller): Promise<Response> {
    const accept = request.headers.get("accept") ?? "";
    if (!accept.includes("text/event-stream")) {
      return httpError(406, -32000, "Not Acceptable: Accept must include text/event-stream");
    }
    const session = await this.session(request, auth);
    if (session instanceof Response) return session;
    const bus = this.opts.dispatcher.sessions.bus;
    const lastEventId = request.headers.get("last-event-id");
    const post = lastEventId ? parsePostEventId(lastEventId) : undefined;
    if (post) return this.resumePost(session, post);
    let missed: Awaited<ReturnType<typeof bus.replay>> = [];
    if (lastEventId && lastEventId.length <= 200) {
      try {
        missed = await bus.replay(session.id, lastEventId);
      } catch {
        // Replay is best effort: the live stream still opens.
      }
    }
    const channel: ResponseChannel = new ResponseChannel({
      openWith: "stream open",
      keepAliveMs: this.opts.keepAliveMs,
      onGone: () => {
        if (session.stream === stream) session.stream = null;
      },
    });
    for (const event of missed) channel.send(event.message, event.id);
    const stream: Outbound = {
      send: (message) => {
        const id = eventId(bus.replica);
        bus.record(session.id, { id, message });
        return channel.send(message, id);
      },
      close: (retryMs) => channel.close(retryMs),
    };
    session.stream?.close?.();
    session.stream = stream;
    return channel.response;
  }

  /**
   * `GET` with the `Last-Event-ID` of a POST response stream (`post-stream.ts`): the events after it, then
   * the rest as the request runs (here or on the replica running it), the response last; or at once an
   * error for the request when the replica running it is gone. Not the session's GET stream: that one stays.
   */
  private async resumePost(
    session: Session,
    name: PostStreamName & { seq: number | undefined },
  ): Promise<Response> {
    const bus = this.posts.bus;
    if (name.seq === undefined) {
      streamResumes.inc({ outcome: "not_found" });
      return httpError(404, -32001, "Stream not found: it ended; nothing is left to send on it");
    }
    const recorded = await bus.replayStream(session.id, name.stream).catch(() => []);
    if (recorded.length === 0) {
      streamResumes.inc({ outcome: "not_found" });
      return httpError(404, -32001, "Stream not found: no such stream in this session, or it expired");
    }
    let last = name.seq;
    let done = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    let off = () => {};
    const stop = () => {
      off();
      clearInterval(timer);
    };
    const channel = new ResponseChannel({
      openWith: "stream resumed",
      keepAliveMs: this.opts.keepAliveMs,
      onGone: () => {
        stop();
        if (!done) streamResumes.inc({ outcome: "left" });
      },
    });
    const deliver = (event: StreamEvent) => {
      const seq = eventSeq(name, event.id);
      if (done || seq === undefined || seq <= last) return;
      last = seq;
      if (isPriming(event.message)) return;
      if (isResponseTo(event.message, name.requestId)) {
        done = true;
        stop();
        streamResumes.inc({ outcome: "answered" });
        channel.finish(event.message, 200, event.id);
        return;
      }
      channel.send(event.message, event.id);
    };
    off = this.posts.listen(session.id, name.stream, deliver);
    /**
     * Catches up from the buffer (`read`: already read), then: is the request still running somewhere? If
     * not, it is lost.
     */
    const check = async (read?: StreamEvent[]) => {
      const buffered = read ?? (await bus.replayStream(session.id, name.stream).catch(() => undefined));
      for (const event of buffered ?? []) deliver(event);
      if (done) return;
      // An expired buffer (its answer, if any, went to the broken connection) gets nothing more.
      const expired = buffered?.length === 0;
      const running =
        !expired &&
        (name.replica === bus.replica
          ? this.posts.isRunning(name.stream)
          : await bus.send(name.replica, { t: "probe", sid: session.id }).catch(() => true));
      if (running || done) return;
      for (const event of await bus.replayStream(session.id, name.stream).catch(() => [])) deliver(event);
      if (done) return;
      done = true;
      stop();
      streamResumes.inc({ outcome: "lost" });
      channel.finish(lostResponse(name.requestId), 200, endedEventId(name));
    };
    await check(recorded);
    if (!done) {
      timer = setInterval(() => void check(), RESUME_CHECK_MS);
      timer.unref?.();
    }
    return channel.response;
  }

  private async delete(request: Request, auth: Caller): Promise<Response> {
    const session = await this.session(request, auth);
    if (session instanceof Response) return session;
    await this.opts.dispatcher.endSession(session);
    return new Response(null, { status: 200 });
  }

  private tooLarge(): Response {
    const error = payloadTooLargeError(this.opts.maxBodyBytes);
    return httpError(413, error.code, error.message);
  }
}

function samePermissions(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The JSON-RPC error of a 413 on the MCP endpoint (also the gateway security plugin's 413 on `/mcp`). */
export function payloadTooLargeError(maxBodyBytes: number): JsonRpcErrorObject {
  return {
    code: ErrorCode.InvalidRequest,
    message: `Payload too large: the body exceeds ${maxBodyBytes} bytes (MAX_BODY_BYTES)`,
  };
}

const internalLog = createLogger();

/** Any thrown value → a JSON-RPC error object (internal errors never leak details). */
export function toError(error: unknown): JsonRpcErrorObject {
  if (error instanceof RpcError) return error.toObject();
  internalLog.error("[mcp] internal error", error);
  return { code: ErrorCode.InternalError, message: "Internal error" };
}
