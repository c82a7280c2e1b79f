import type { ClientCapabilities, LogLevel, OrgContext } from "@omni/contracts";
import type { Instance } from "../registry/index.ts";
import type { Json, SessionVersion } from "./protocol.ts";

/** Where server-initiated messages for a session (or one request) are written. */
export interface Outbound {
  send(message: Json): void;
  /** Ends the stream (session ended). */
  close?(): void;
}

/** A server-to-client request relayed from a domain server, awaiting the client's answer. */
export interface PendingClientRequest {
  instance: Instance;
  callId: string;
  upstreamId: string;
}

/** One 2025-era MCP session (Streamable HTTP `Mcp-Session-Id`, or one WebSocket connection). */
export interface Session {
  readonly id: string;
  /** Who the session acts for; an HTTP session takes each request's (same org and user) permissions. */
  org: Omit<OrgContext, "requestId">;
  readonly credentialId: string | undefined;
  readonly expiresAt: number | undefined;
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
  lastSeen: number;
  nextOutboundId: number;
  /**
   * Set only on the per-request pseudo-session of a stateless 2026-07-28 request (gateway/src/mcp/modern):
   * tools run non-live and end with `input_required`; `inputResponses` are the answers so far.
   */
  stateless?: { inputResponses: Record<string, unknown> };
}

export function createSession(init: {
  id?: string;
  org: Omit<OrgContext, "requestId">;
  credentialId: string | undefined;
  expiresAt: number | undefined;
  protocolVersion: SessionVersion;
  clientCapabilities: ClientCapabilities;
  clientInfo: Json;
}): Session {
  return {
    id: init.id ?? crypto.randomUUID(),
    org: init.org,
    credentialId: init.credentialId,
    expiresAt: init.expiresAt,
    protocolVersion: init.protocolVersion,
    clientCapabilities: init.clientCapabilities,
    clientInfo: init.clientInfo,
    logLevel: undefined,
    subscriptions: new Set(),
    stream: null,
    inflight: new Map(),
    pending: new Map(),
    usedServers: new Set(),
    lastSeen: Date.now(),
    nextOutboundId: 1,
  };
}

/** In-memory session store with an idle timeout. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly idleMs: number,
    private readonly onExpire: (session: Session) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(idleMs, 60_000));
    this.sweeper.unref?.();
  }

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  get(id: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session) session.lastSeen = Date.now();
    return session;
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
    const cutoff = Date.now() - this.idleMs;
    for (const session of this.sessions.values()) {
      // A session holding a GET stream or socket open is waiting for notifications, not idle.
      if (session.lastSeen < cutoff && session.inflight.size === 0 && session.stream === null) {
        this.sessions.delete(session.id);
        this.onExpire(session);
      }
    }
  }
}
