import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ListRootsRequestSchema,
  ListRootsResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  type Prompt,
  PromptListChangedNotificationSchema,
  type Resource,
  ResourceListChangedNotificationSchema,
  type ResourceTemplate,
  ResourceUpdatedNotificationSchema,
  ErrorCode as SdkErrorCode,
  type Tool,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { ErrorCode } from "@omni/contracts";
import type { FederatedServer } from "@omni/db";
import type { CallContext } from "../mcp/core/context.ts";
import { type Json, notificationMessage, RpcError } from "../mcp/protocol.ts";

/** What the gateway needs to reach one upstream (a `federated_servers` row, its secret decrypted). */
export interface UpstreamSpec
  extends Pick<
    FederatedServer,
    "id" | "registeredBy" | "name" | "prefix" | "transport" | "url" | "command" | "args" | "env"
  > {
  /** The org that owns the row (its `organizationId`); null: offered to every org. */
  ownerOrgId: FederatedServer["organizationId"];
  /** Sent on every HTTP request (the auth header, decrypted). */
  headers: Record<string, string>;
  /** Changes whenever the row does (its `updated_at`): a changed row gets a new connection. */
  revision: string;
}

export type ConnectionState = "connecting" | "healthy" | "down" | "closed";

export interface ConnectionHooks {
  /** The upstream's lists changed (connected, reconnected, `list_changed`, went down). */
  changed(): void;
  /** A server-to-client notification with no call to carry it (logs between calls, resources/updated). */
  notify(message: Json): void;
  logger: Pick<Console, "info" | "warn">;
  /** Why this upstream may not be reached now (the org-egress guard), or null; checked before each connect. */
  admit?(spec: UpstreamSpec): Promise<string | null>;
}

export interface ConnectionOptions {
  /** First reconnect delay; doubles per failure up to `maxBackoffMs`. Default 250 ms. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** Connect + list timeout. Default 15 s. */
  connectTimeoutMs?: number;
  /** A call's timeout without progress. Default 5 minutes. */
  callTimeoutMs?: number;
  clientInfo?: { name: string; version: string };
}

/** A call in flight on this connection: where the upstream's requests and logs during it go. */
interface ActiveCall {
  call: CallContext;
}

const CLIENT_CAPABILITY_OF = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
} as const;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Fetches every page of one list. */
async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await fetchPage(cursor);
    items.push(...result.items);
    if (!result.nextCursor) break;
    cursor = result.nextCursor;
  }
  return items;
}

/**
 * One pooled MCP client connection to an upstream, for one organization (see `Federation` for why per
 * org): the SDK `Client` over Streamable HTTP, legacy HTTP+SSE or a stdio child process. It keeps the
 * upstream's tools, prompts, resources and templates (refreshed on `list_changed`), relays progress,
 * logs, cancellation and the upstream's sampling/elicitation/roots requests to the calling client's
 * session, and reconnects with exponential backoff when the upstream goes away.
 */
export class UpstreamConnection {
  state: ConnectionState = "connecting";
  lastError: string | null = null;
  lastConnectedAt: number | null = null;
  /** stdio: the child's PID while it runs. */
  pid: number | null = null;
  tools: Tool[] = [];
  prompts: Prompt[] = [];
  resources: Resource[] = [];
  templates: ResourceTemplate[] = [];
  /** The upstream's `instructions` from initialize. */
  instructions: string | undefined;
  private client: Client | null = null;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private connecting: Promise<void> | null = null;
  private readonly active: ActiveCall[] = [];
  /** Progress listeners by the progress token the gateway gave the upstream call. */
  private readonly progress = new Map<string, (params: Json) => void>();
  private nextProgressToken = 1;
  private readonly opts: Required<ConnectionOptions>;

  constructor(
    readonly spec: UpstreamSpec,
    readonly orgId: string,
    private readonly hooks: ConnectionHooks,
    options: ConnectionOptions = {},
  ) {
    this.opts = {
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      callTimeoutMs: options.callTimeoutMs ?? 5 * 60_000,
      clientInfo: options.clientInfo ?? { name: "omni-gateway", version: "0.1.0" },
    };
  }

  /**
   * Connects unless connected (later attempts run on the backoff timer); resolves when this attempt
   * settled. Concurrent callers share one attempt.
   */
  start(): Promise<void> {
    if (this.client || this.isClosed()) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** Closes the connection for good (a stdio child is terminated by the SDK transport). */
  async close(): Promise<void> {
    this.state = "closed";
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => {});
    this.pid = null;
  }

  /** Whether `close()` was called (a read TypeScript does not narrow across awaits). */
  private isClosed(): boolean {
    return this.state === "closed";
  }

  /** Pings the upstream; a failure takes the connection down (and schedules a reconnect). */
  async check(): Promise<void> {
    const client = this.client;
    if (this.state !== "healthy" || !client) return;
    try {
      await client.ping({ timeout: this.opts.connectTimeoutMs });
    } catch (error) {
      if (this.client === client) this.down(error);
    }
  }

  private transport(): Transport {
    const { spec } = this;
    const headers = spec.headers;
    if (spec.transport === "stdio") {
      if (!spec.command) throw new Error("a stdio upstream needs a command");
      return new StdioClientTransport({
        command: spec.command,
        args: spec.args,
        env: { ...getDefaultEnvironment(), ...spec.env },
        stderr: "pipe",
      });
    }
    if (!spec.url) throw new Error("a remote upstream needs a url");
    const url = new URL(spec.url);
    if (spec.transport === "sse") {
      return new SSEClientTransport(url, {
        requestInit: { headers },
        eventSourceInit: {
          fetch: (input, init) =>
            fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
        },
      });
    }
    return new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  }

  private async connect(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "connecting";
    const client = new Client(this.opts.clientInfo, {
      capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
    });
    this.install(client);
    const transport = this.transport();
    try {
      const refused = (await this.hooks.admit?.(this.spec)) ?? null;
      if (refused) throw new Error(refused);
      await client.connect(transport, { timeout: this.opts.connectTimeoutMs });
      if (this.isClosed()) {
        await client.close().catch(() => {});
        return;
      }
      this.client = client;
      this.interceptProgress(transport);
      this.pid = transport instanceof StdioClientTransport ? transport.pid : null;
      if (transport instanceof StdioClientTransport) {
        // Drain the child's stderr (a full pipe would block it); keep the last line for health.
        transport.stderr?.on("data", () => {});
      }
      client.onclose = () => {
        if (this.client === client) this.down(new Error("the upstream closed the connection"));
      };
      this.instructions = client.getInstructions();
      await this.refresh(client);
      this.state = "healthy";
      this.failures = 0;
      this.lastError = null;
      this.lastConnectedAt = Date.now();
      this.hooks.logger.info(
        `[federation] ${this.spec.prefix} (${this.spec.name}) connected for ${this.orgId}`,
      );
      this.hooks.changed();
    } catch (error) {
      if (this.client === client) this.client = null;
      await client.close().catch(() => {});
      this.pid = null;
      this.lastError = errorText(error);
      if (!this.isClosed()) {
        this.state = "down";
        this.schedule();
      }
    }
  }

  /**
   * Progress is taken off the transport synchronously: the SDK dispatches notifications a microtask late,
   * after a response that arrived in the same chunk already dropped the call's progress handler, which
   * would lose a tool's last progress notification.
   */
  private interceptProgress(transport: Transport): void {
    const sdk = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if ("method" in message && message.method === "notifications/progress" && !("id" in message)) {
        const params = (message.params ?? {}) as Json;
        const listener = this.progress.get(String(params.progressToken));
        if (listener) {
          listener(params);
          return;
        }
      }
      sdk?.(message, extra);
    };
  }

  /** Marks the connection down, forgets its lists, and reconnects after a backoff. */
  private down(error: unknown): void {
    if (this.state === "closed" || this.state === "down") return;
    const client = this.client;
    this.client = null;
    this.pid = null;
    this.state = "down";
    this.lastError = errorText(error);
    this.hooks.logger.warn(`[federation] ${this.spec.prefix} (${this.spec.name}) is down: ${this.lastError}`);
    this.tools = [];
    this.prompts = [];
    this.resources = [];
    this.templates = [];
    void client?.close().catch(() => {});
    this.hooks.changed();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.state === "closed") return;
    const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** this.failures);
    this.failures++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.start();
    }, delay);
    this.timer.unref?.();
  }

  private async refresh(client: Client, only?: "tools" | "prompts" | "resources"): Promise<void> {
    const caps = client.getServerCapabilities() ?? {};
    const timeout = { timeout: this.opts.connectTimeoutMs };
    if ((!only || only === "tools") && caps.tools) {
      this.tools = await allPages(async (cursor) => {
        const r = await client.listTools(cursor ? { cursor } : {}, timeout);
        return { items: r.tools, nextCursor: r.nextCursor };
      });
    }
    if ((!only || only === "prompts") && caps.prompts) {
      this.prompts = await allPages(async (cursor) => {
        const r = await client.listPrompts(cursor ? { cursor } : {}, timeout);
        return { items: r.prompts, nextCursor: r.nextCursor };
      });
    }
    if ((!only || only === "resources") && caps.resources) {
      this.resources = await allPages(async (cursor) => {
        const r = await client.listResources(cursor ? { cursor } : {}, timeout);
        return { items: r.resources, nextCursor: r.nextCursor };
      });
      this.templates = await allPages(async (cursor) => {
        const r = await client.listResourceTemplates(cursor ? { cursor } : {}, timeout);
        return { items: r.resourceTemplates, nextCursor: r.nextCursor };
      });
    }
  }

  private install(client: Client): void {
    const relist = (kind: "tools" | "prompts" | "resources") => () => {
      if (this.client !== client) return;
      void this.refresh(client, kind).then(
        () => this.hooks.changed(),
        (error: unknown) => this.down(error),
      );
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, relist("tools"));
    client.setNotificationHandler(PromptListChangedNotificationSchema, relist("prompts"));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, relist("resources"));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      const message = notificationMessage("notifications/message", n.params as Json);
      const current = this.active.at(-1);
      if (current) current.call.out.send(message);
      else this.hooks.notify(message);
    });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      this.hooks.notify(notificationMessage("notifications/resources/updated", n.params as Json));
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) =>
      CreateMessageResultSchema.parse(
        await this.askClient("sampling/createMessage", request.params as Json, extra.signal),
      ),
    );
    client.setRequestHandler(ElicitRequestSchema, async (request, extra) =>
      ElicitResultSchema.parse(
        await this.askClient("elicitation/create", request.params as Json, extra.signal),
      ),
    );
    client.setRequestHandler(ListRootsRequestSchema, async (request, extra) => {
      // Outside a call there is no client to ask: the gateway itself exposes no roots.
      if (this.active.length === 0) return { roots: [] };
      return ListRootsResultSchema.parse(
        await this.askClient("roots/list", (request.params ?? {}) as Json, extra.signal),
      );
    });
  }

  /**
   * Relays the upstream's request to the client whose call is in flight here (the newest one: the
   * protocol carries no link from a server-to-client request to the call that caused it on stdio, and a
   * connection serves one org, so it never reaches another org's client), and waits for its answer.
   */
  private askClient(
    method: keyof typeof CLIENT_CAPABILITY_OF,
    params: Json,
    upstreamSignal: AbortSignal,
  ): Promise<unknown> {
    const capability = CLIENT_CAPABILITY_OF[method];
    const current = [...this.active].reverse().find((a) => a.call.live && a.call.session);
    const call = current?.call;
    const session = call?.session;
    if (!call || !session) {
      throw new McpError(
        ErrorCode.MissingClientCapability,
        `${method} needs a live client session (a 2025-era session with a call in flight); none is`,
      );
    }
    if (!call.clientCapabilities[capability]) {
      throw new McpError(
        ErrorCode.MissingClientCapability,
        `The client did not declare the ${capability} capability, so ${method} is not available`,
      );
    }
    const clientId = `omni-${session.nextOutboundId++}`;
    return new Promise((resolve, reject) => {
      const abort = () => {
        session.pending.delete(clientId);
        reject(new McpError(SdkErrorCode.RequestTimeout, "the request was cancelled"));
      };
      upstreamSignal.addEventListener("abort", abort, { once: true });
      call.signal.addEventListener("abort", abort, { once: true });
      session.pending.set(clientId, {
        answer: (reply) => {
          upstreamSignal.removeEventListener("abort", abort);
          call.signal.removeEventListener("abort", abort);
          if (reply.error) reject(new McpError(reply.error.code, reply.error.message, reply.error.data));
          else resolve(reply.result);
        },
      });
      call.out.send({ jsonrpc: "2.0", id: clientId, method, params });
    });
  }

  private live(): Client {
    if (this.state === "healthy" && this.client) return this.client;
    throw new RpcError(
      ErrorCode.ServerUnavailable,
      `Upstream "${this.spec.name}" (${this.spec.prefix}) is unavailable${
        this.lastError ? ` (${this.lastError.slice(0, 200)})` : ""
      }. The gateway reconnects by itself; retry shortly.`,
      { upstream: this.spec.prefix },
    );
  }

  /** Maps an SDK failure: the upstream's JSON-RPC errors pass through; a lost connection is -32003. */
  private failure(client: Client, error: unknown, signal: AbortSignal): RpcError {
    if (signal.aborted) return new RpcError(-32800, "Request cancelled");
    if (error instanceof McpError && error.code !== SdkErrorCode.ConnectionClosed) {
      if (error.code === SdkErrorCode.RequestTimeout) {
        return new RpcError(ErrorCode.InternalError, `Upstream "${this.spec.name}" timed out`, {
          upstream: this.spec.prefix,
        });
      }
      return new RpcError(error.code, error.message.replace(/^MCP error -?\d+: /, ""), error.data);
    }
    if (this.client === client) this.down(error);
    try {
      this.live();
    } catch (unavailable) {
      if (unavailable instanceof RpcError) return unavailable;
    }
    return new RpcError(ErrorCode.ServerUnavailable, `Upstream "${this.spec.name}" is unavailable`);
  }

  /** Runs `fn` with the call registered as in flight (for relays), mapping failures. */
  private async run<T>(call: CallContext, fn: (client: Client) => Promise<T>): Promise<T> {
    const client = this.live();
    const entry: ActiveCall = { call };
    this.active.push(entry);
    try {
      return await fn(client);
    } catch (error) {
      if (error instanceof RpcError) throw error;
      throw this.failure(client, error, call.signal);
    } finally {
      this.active.splice(this.active.indexOf(entry), 1);
    }
  }

  callTool(
    call: CallContext,
    name: string,
    args: Record<string, unknown>,
    progressToken: string | number | undefined,
  ): Promise<Json> {
    return this.run(call, async (client) => {
      const token = progressToken === undefined ? undefined : `omni-${this.nextProgressToken++}`;
      if (token !== undefined) {
        this.progress.set(token, (p) => {
          const params: Json = { ...p, progressToken: progressToken ?? null };
          call.out.send(notificationMessage("notifications/progress", params));
        });
      }
      try {
        const result = await client.callTool(
          { name, arguments: args, ...(token === undefined ? {} : { _meta: { progressToken: token } }) },
          CallToolResultSchema,
          { signal: call.signal, timeout: this.opts.callTimeoutMs },
        );
        return result as Json;
      } finally {
        if (token !== undefined) this.progress.delete(token);
      }
    });
  }

  getPrompt(call: CallContext, name: string, args: Record<string, string>): Promise<Json> {
    return this.run(
      call,
      async (client) => (await client.getPrompt({ name, arguments: args }, { signal: call.signal })) as Json,
    );
  }

  readResource(call: CallContext, uri: string): Promise<Json> {
    return this.run(
      call,
      async (client) => (await client.readResource({ uri }, { signal: call.signal })) as Json,
    );
  }

  complete(
    call: CallContext,
    params: { ref: Json; argument: { name: string; value: string } },
  ): Promise<Json> {
    return this.run(call, async (client) => {
      const ref = params.ref as { type: "ref/prompt"; name: string } | { type: "ref/resource"; uri: string };
      return (await client.complete({ ref, argument: params.argument }, { signal: call.signal })) as Json;
    });
  }

  /** Tells the upstream the client's roots changed. */
  rootsChanged(): void {
    if (this.state === "healthy") void this.client?.sendRootsListChanged().catch(() => {});
  }
}
