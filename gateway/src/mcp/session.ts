import type { ClientCapabilities, LogLevel, RequestId } from "@omni/contracts";
import type { Caller } from "../ports.ts";
import type { Instance } from "../registry/index.ts";
import type { CallContext, Outbound } from "./core/context.ts";
import type { Json, SessionVersion } from "./protocol.ts";
import type { SessionBus } from "./session-bus.ts";
import { type SealedSession, SessionSealer } from "./session-seal.ts";

/** The client's answer to a server-to-client request. */
export interface ClientReply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * A server-to-client request awaiting the client's answer: relayed from a domain server (answered
 * through its RPC callback), or from a federated upstream (`answer` settles the SDK client's handler).
 */
export type PendingClientRequest =
  | { instance: Instance; callId: string; upstreamId: string }
  | { answer: (reply: ClientReply) => void };

/** One 2025-era MCP session (Streamable HTTP `Mcp-Session-Id`, or one WebSocket connection). */
export interface Session {
  /** The session's name (the sid of its sealed id): admin API, upstream session key, shared state. */
  readonly id: string;
  /** The `Mcp-Session-Id` the client sends: the sid and the session's identity, sealed. */
  readonly token: string;
  /** When the sealed id stops working (epoch ms, `SESSION_MAX_AGE_MS` after creation). */
  readonly expiresAt: number;
  /** The tag of the replica holding this copy (in the ids of its server-to-client requests). */
  readonly replica: string;
  /** Who the session acts for; an HTTP session takes each request's (same org and user) permissions. */
  caller: Caller;
  readonly protocolVersion: SessionVersion;
  readonly clientCapabilities: ClientCapabilities;
  readonly clientInfo: Json;
  logLevel: LogLevel | undefined;
  readonly subscriptions: Set<string>;
  /** The GET stream (HTTP) or the socket (WebSocket): where unrelated notifications go. */
  stream: Outbound | null;
  /** In-flight client requests by JSON-RPC id (as a string), for notifications/cancelled. */
  readonly inflight: Map<string, AbortController>;
  /** Server-to-client requests by the id the client sees. */
  readonly pending: Map<string, PendingClientRequest>;
  /** Servers this session called (told when it ends). */
  readonly usedServers: Set<string>;
  /** When the session was created (epoch ms): its age on the admin Sessions page. */
  readonly createdAt: number;
  lastSeen: number;
  nextOutboundId: number;
}

/** The in-memory copy of a sealed session, with the state shared through the bus. */
function materialize(
  token: string,
  sealed: SealedSession,
  replica: string,
  shared: { logLevel: LogLevel | undefined; subscriptions: string[] },
): Session {
  return {
    id: sealed.sid,
    token,
    expiresAt: sealed.expiresAt,
    replica,
    caller: sealed.caller,
    protocolVersion: sealed.protocolVersion,
    clientCapabilities: sealed.clientCapabilities,
    clientInfo: sealed.clientInfo,
    logLevel: shared.logLevel,
    subscriptions: new Set(shared.subscriptions),
    stream: null,
    inflight: new Map(),
    pending: new Map(),
    usedServers: new Set(),
    createdAt: sealed.createdAt,
    lastSeen: Date.now(),
    nextOutboundId: 1,
  };
}

/**
 * The call context of one request of a 2025 session (HTTP or WebSocket): live, the session's
 * capabilities and log level, cancellable by `notifications/cancelled` until `end()`.
 */
export function sessionCall(
  session: Session,
  id: RequestId,
  out: Outbound,
): { call: CallContext; end: () => void } {
  const key = String(id);
  const controller = new AbortController();
  session.inflight.set(key, controller);
  return {
    call: {
      era: "session",
      id,
      caller: session.caller,
      clientCapabilities: session.clientCapabilities,
      live: true,
      inputResponses: undefined,
      logLevel: session.logLevel,
      signal: controller.signal,
      sessionKey: session.id,
      out,
      session,
    },
    end: () => {
      if (session.inflight.get(key) === controller) session.inflight.delete(key);
    },
  };
}

/**
 * 2025 sessions: created sealed (`session-seal.ts`), so the copy here is a cache. A replica that meets a
 * session id it has not seen opens it and reads the session's shared state once (`session-bus.ts`); later
 * requests are a map lookup. Idle copies are dropped from memory after `idleMs` (the servers they used are
 * told); the id keeps working on any replica until it expires or is ended (DELETE, admin API).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly opening = new Map<string, Promise<Session | undefined>>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly idleMs: number,
    private readonly onExpire: (session: Session) => void,
    private readonly sealer: SessionSealer,
    readonly bus: SessionBus,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref?.();
  }

  /** A new session for `init`, with its sealed id. */
  create(init: {
    caller: Caller;
    protocolVersion: SessionVersion;
    clientCapabilities: ClientCapabilities;
    clientInfo: Json;
  }): Session {
    const { token, sealed } = this.sealer.seal(init);
    const session = materialize(token, sealed, this.bus.replica, { logLevel: undefined, subscriptions: [] });
    // The caller as given (the sealed copy is trimmed to what the id needs).
    session.caller = init.caller;
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * The session a client's `Mcp-Session-Id` names: this replica's copy, or (first request here) the
   * sealed id opened and the shared state read. Undefined when forged, expired or ended.
   */
  async resolve(token: string): Promise<Session | undefined> {
    const sid = SessionSealer.sidOf(token);
    if (!sid) return undefined;
    const local = this.sessions.get(sid);
    if (local) {
      if (local.token !== token || local.expiresAt <= Date.now()) return undefined;
      local.lastSeen = Date.now();
      return local;
    }
    const pending = this.opening.get(sid);
    if (pending) return pending.then((s) => (s?.token === token ? s : undefined));
    const sealed = this.sealer.open(token);
    if (!sealed) return undefined;
    const promise = this.bus.load(sid).then((shared) => {
      if (shared.revoked) return undefined;
      const session = materialize(token, sealed, this.bus.replica, shared);
      this.sessions.set(sid, session);
      return session;
    });
    this.opening.set(sid, promise);
    try {
      return await promise;
    } finally {
      this.opening.delete(sid);
    }
  }

  /** This replica's copy of a session, by its sid. */
  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  delete(id: string): Session | undefined {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    return session;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    const cutoff = now - this.idleMs;
    for (const session of this.sessions.values()) {
      // A session holding a GET stream or socket open is waiting for notifications, not idle.
      const idle = session.lastSeen < cutoff && session.inflight.size === 0 && session.stream === null;
      if (idle || (session.expiresAt <= now && session.inflight.size === 0)) {
        this.sessions.delete(session.id);
        session.stream?.close?.();
        this.onExpire(session);
      }
    }
  }
}
