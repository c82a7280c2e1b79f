import { randomBytes } from "node:crypto";
import type { LogLevel } from "@omni/contracts";
import type { Redis } from "ioredis";
import * as v from "valibot";
import type { Json } from "./protocol.ts";

/**
 * What the replicas of one deployment share about 2025 sessions, beside the sealed id (`session-seal.ts`):
 *
 * - the few things a session changes after `initialize` (log level, resource subscriptions) and whether it
 *   was ended (revocation: a sealed id alone cannot be revoked), read once when a replica first sees the
 *   session, written only when they change;
 * - messages between replicas: a client's answer to a server-to-client request reaches the replica whose
 *   call is waiting for it, `notifications/cancelled` reaches the replica running the call, a DELETE ends
 *   every replica's copy, a state change updates them;
 * - the GET stream's replay buffer (`Last-Event-ID`): the last events of each session, bounded.
 *
 * `RedisSessionBus` when `REDIS_URL` is set (hashes, lists, pub/sub); `MemorySessionBus` for one process.
 */

export interface SharedSessionState {
  revoked: boolean;
  logLevel: LogLevel | undefined;
  subscriptions: string[];
}

/** One replay-buffer entry: the SSE event id and the JSON-RPC message. */
export interface StreamEvent {
  id: string;
  message: Json;
}

const LogLevelSchema = v.picklist([
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
]);

export const BusMessage = v.variant("t", [
  v.object({
    t: v.literal("answer"),
    sid: v.string(),
    id: v.union([v.string(), v.number()]),
    result: v.optional(v.unknown()),
    error: v.optional(v.object({ code: v.number(), message: v.string(), data: v.optional(v.unknown()) })),
  }),
  v.object({ t: v.literal("cancel"), sid: v.string(), requestId: v.union([v.string(), v.number()]) }),
  v.object({ t: v.literal("end"), sid: v.string() }),
  v.object({
    t: v.literal("state"),
    sid: v.string(),
    logLevel: v.optional(LogLevelSchema),
    subscriptions: v.array(v.string()),
  }),
  /** An event of a POST response stream whose client went away, for a replica where it resumed. */
  v.object({
    t: v.literal("stream"),
    sid: v.string(),
    stream: v.string(),
    event: v.object({ id: v.string(), message: v.record(v.string(), v.unknown()) }),
  }),
  /** Asks nothing: delivered (`send` true) only while the replica it is sent to is alive. */
  v.object({ t: v.literal("probe"), sid: v.string() }),
]);
export type BusMessage = v.InferOutput<typeof BusMessage>;

export interface SessionBus {
  /** This replica's tag (in the ids of the server-to-client requests it sends). */
  readonly replica: string;
  /** Resolves once the bus listens (immediately in memory). */
  readonly ready: Promise<void>;
  /** The shared state of a session (one round trip with Redis; only when a replica first sees it). */
  load(sid: string): Promise<SharedSessionState>;
  /** Stores a session's changed state until `expiresAt` and tells the other replicas. */
  save(sid: string, state: Omit<SharedSessionState, "revoked">, expiresAt: number): Promise<void>;
  /** Marks a session ended until `expiresAt` (its sealed id stops working everywhere) and tells the replicas. */
  revoke(sid: string, expiresAt: number): Promise<void>;
  /** Sends a message to one replica; false when it cannot be delivered. */
  send(replica: string, message: BusMessage): Promise<boolean>;
  /** Sends a message to every other replica. */
  broadcast(message: BusMessage): Promise<void>;
  /** Called with each message another replica sent here (or broadcast). */
  onMessage(handler: (message: BusMessage) => void): void;
  /** Appends an event to a session's replay buffer (fire and forget). */
  record(sid: string, event: StreamEvent): void;
  /** The buffered events after `lastEventId` (all of them when it is no longer buffered). */
  replay(sid: string, lastEventId: string): Promise<StreamEvent[]>;
  /** Appends an event of one POST response stream to its own buffer (fire and forget; `post-stream.ts`). */
  recordStream(sid: string, stream: string, event: StreamEvent): void;
  /** Every buffered event of one POST response stream, in order. */
  replayStream(sid: string, stream: string): Promise<StreamEvent[]>;
  /**
   * A POST response stream was answered on its own connection: its buffer goes after `afterMs` (kept that
   * long for a client whose connection broke unnoticed, with the answer in flight).
   */
  dropStream(sid: string, stream: string, afterMs: number): void;
  close(): Promise<void>;
}

/** A fresh replica tag: 8 url-safe characters. */
export function replicaTag(): string {
  return randomBytes(6).toString("base64url");
}

/** A new SSE event id: time-ordered within a replica, unique across replicas. */
export function eventId(replica: string): string {
  return `${Date.now().toString(36)}-${replica}-${(seq++).toString(36)}`;
}
let seq = 0;

function after(events: StreamEvent[], lastEventId: string): StreamEvent[] {
  const index = events.findIndex((e) => e.id === lastEventId);
  return index < 0 ? events : events.slice(index + 1);
}

export interface BusOptions {
  /** Events kept per session for `Last-Event-ID` (`SESSION_REPLAY_EVENTS`). Default 100. */
  replayEvents?: number;
  /** How long a replay buffer outlives its last event. Default 10 minutes. */
  replayTtlMs?: number;
}

/** One process: state and replay buffers in memory, no other replica to talk to. */
export class MemorySessionBus implements SessionBus {
  readonly replica = replicaTag();
  readonly ready = Promise.resolve();
  private readonly states = new Map<string, SharedSessionState & { expiresAt: number }>();
  private readonly buffers = new Map<string, { events: StreamEvent[]; at: number }>();
  private readonly max: number;
  private readonly ttlMs: number;

  constructor(opts: BusOptions = {}) {
    this.max = opts.replayEvents ?? 100;
    this.ttlMs = opts.replayTtlMs ?? 10 * 60_000;
  }

  async load(sid: string): Promise<SharedSessionState> {
    const state = this.states.get(sid);
    if (!state || state.expiresAt <= Date.now()) {
      this.states.delete(sid);
      return { revoked: false, logLevel: undefined, subscriptions: [] };
    }
    return { revoked: state.revoked, logLevel: state.logLevel, subscriptions: state.subscriptions };
  }

  async save(sid: string, state: Omit<SharedSessionState, "revoked">, expiresAt: number): Promise<void> {
    this.sweep();
    this.states.set(sid, { ...state, revoked: false, expiresAt });
  }

  async revoke(sid: string, expiresAt: number): Promise<void> {
    this.sweep();
    this.states.set(sid, { revoked: true, logLevel: undefined, subscriptions: [], expiresAt });
    this.buffers.delete(sid);
  }

  async send(): Promise<boolean> {
    return false;
  }

  async broadcast(): Promise<void> {}

  onMessage(): void {}

  record(sid: string, event: StreamEvent): void {
    const buffer = this.buffers.get(sid) ?? { events: [], at: 0 };
    buffer.events.push(event);
    if (buffer.events.length > this.max) buffer.events.splice(0, buffer.events.length - this.max);
    buffer.at = Date.now();
    this.buffers.set(sid, buffer);
  }

  recordStream(sid: string, stream: string, event: StreamEvent): void {
    this.sweep();
    this.record(`${sid}\u0000${stream}`, event);
  }

  async replayStream(sid: string, stream: string): Promise<StreamEvent[]> {
    const buffer = this.buffers.get(`${sid}\u0000${stream}`);
    return !buffer || buffer.at + this.ttlMs <= Date.now() ? [] : [...buffer.events];
  }

  dropStream(sid: string, stream: string, afterMs: number): void {
    const buffer = this.buffers.get(`${sid}\u0000${stream}`);
    if (buffer) buffer.at = Math.min(buffer.at, Date.now() - this.ttlMs + afterMs);
  }

  async replay(sid: string, lastEventId: string): Promise<StreamEvent[]> {
    const buffer = this.buffers.get(sid);
    if (!buffer || buffer.at + this.ttlMs <= Date.now()) return [];
    return after(buffer.events, lastEventId);
  }

  async close(): Promise<void> {}

  /** Drops expired entries (on writes, so the maps stay bounded by live sessions). */
  private sweep(): void {
    const now = Date.now();
    if (now - this.swept < 60_000) return;
    this.swept = now;
    for (const [sid, state] of this.states) if (state.expiresAt <= now) this.states.delete(sid);
    for (const [sid, buffer] of this.buffers) if (buffer.at + this.ttlMs <= now) this.buffers.delete(sid);
  }
  private swept = 0;
}

/**
 * Replicas on one Redis (ToolHive's way for the shared part): `<prefix>mcp:s:<sid>` hash (revoked, log
 * level, subscriptions) expiring with the session, `<prefix>mcp:ev:<sid>` list (the replay buffer),
 * channels `<prefix>mcp:bus` (broadcast) and `<prefix>mcp:bus:<replica>` (one replica). Works against a
 * Sentinel- or Cluster-backed ioredis client alike (one key per command; pub/sub on a duplicate).
 */
export class RedisSessionBus implements SessionBus {
  readonly replica = replicaTag();
  readonly ready: Promise<void>;
  private readonly subscriber: Redis;
  private readonly handlers: ((message: BusMessage) => void)[] = [];
  private readonly max: number;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Pick<Console, "warn">,
    opts: BusOptions = {},
  ) {
    this.max = opts.replayEvents ?? 100;
    this.ttlMs = opts.replayTtlMs ?? 10 * 60_000;
    this.subscriber = redis.duplicate();
    this.subscriber.on("error", (error: Error) => logger.warn(`[mcp] session bus: ${error.message}`));
    this.subscriber.on("message", (_channel: string, raw: string) => {
      let parsed: v.SafeParseResult<typeof Envelope>;
      try {
        parsed = v.safeParse(Envelope, JSON.parse(raw));
      } catch {
        return;
      }
      if (!parsed.success || parsed.output.from === this.replica) return;
      for (const handler of this.handlers) handler(parsed.output.message);
    });
    this.ready = this.subscriber.subscribe(this.channel(), this.channel(this.replica)).then(() => undefined);
  }

  private channel(replica?: string): string {
    return replica ? `${this.prefix}mcp:bus:${replica}` : `${this.prefix}mcp:bus`;
  }

  private stateKey(sid: string): string {
    return `${this.prefix}mcp:s:${sid}`;
  }

  async load(sid: string): Promise<SharedSessionState> {
    const hash = await this.redis.hgetall(this.stateKey(sid));
    const level = v.safeParse(LogLevelSchema, hash.ll);
    let subscriptions: string[] = [];
    try {
      const parsed = v.safeParse(v.array(v.string()), JSON.parse(hash.sb ?? "[]"));
      if (parsed.success) subscriptions = parsed.output;
    } catch {
      // unreadable: none
    }
    return { revoked: hash.rv === "1", logLevel: level.success ? level.output : undefined, subscriptions };
  }

  async save(sid: string, state: Omit<SharedSessionState, "revoked">, expiresAt: number): Promise<void> {
    const key = this.stateKey(sid);
    const fields: Record<string, string> = { sb: JSON.stringify(state.subscriptions) };
    if (state.logLevel) fields.ll = state.logLevel;
    await this.redis.multi().hset(key, fields).pexpireat(key, expiresAt).exec();
    await this.broadcast({
      t: "state",
      sid,
      ...(state.logLevel ? { logLevel: state.logLevel } : {}),
      subscriptions: state.subscriptions,
    });
  }

  async revoke(sid: string, expiresAt: number): Promise<void> {
    const key = this.stateKey(sid);
    await this.redis.multi().hset(key, { rv: "1" }).pexpireat(key, expiresAt).del(this.eventsKey(sid)).exec();
    await this.broadcast({ t: "end", sid });
  }

  async send(replica: string, message: BusMessage): Promise<boolean> {
    const receivers = await this.redis.publish(
      this.channel(replica),
      JSON.stringify({ from: this.replica, message }),
    );
    return receivers > 0;
  }

  async broadcast(message: BusMessage): Promise<void> {
    await this.redis.publish(this.channel(), JSON.stringify({ from: this.replica, message }));
  }

  onMessage(handler: (message: BusMessage) => void): void {
    this.handlers.push(handler);
  }

  private eventsKey(sid: string): string {
    return `${this.prefix}mcp:ev:${sid}`;
  }

  record(sid: string, event: StreamEvent): void {
    this.append(this.eventsKey(sid), event, "replay buffer");
  }

  /** Appends to a bounded, expiring buffer (fire and forget: a failed write is logged). */
  private append(key: string, event: StreamEvent, what: string): void {
    this.redis
      .multi()
      .rpush(key, JSON.stringify(event))
      .ltrim(key, -this.max, -1)
      .pexpire(key, this.ttlMs)
      .exec()
      .catch((error: unknown) => this.logger.warn(`[mcp] ${what} write failed: ${String(error)}`));
  }

  async replay(sid: string, lastEventId: string): Promise<StreamEvent[]> {
    return after(readEvents(await this.redis.lrange(this.eventsKey(sid), 0, -1)), lastEventId);
  }

  /** `<prefix>mcp:ps:<sid>:<stream>`: one POST response stream's events, bounded and expiring alike. */
  private streamKey(sid: string, stream: string): string {
    return `${this.prefix}mcp:ps:${sid}:${stream}`;
  }

  recordStream(sid: string, stream: string, event: StreamEvent): void {
    this.append(this.streamKey(sid, stream), event, "stream buffer");
  }

  async replayStream(sid: string, stream: string): Promise<StreamEvent[]> {
    return readEvents(await this.redis.lrange(this.streamKey(sid, stream), 0, -1));
  }

  dropStream(sid: string, stream: string, afterMs: number): void {
    this.redis
      .pexpire(this.streamKey(sid, stream), Math.max(1, afterMs))
      .catch((error: unknown) => this.logger.warn(`[mcp] stream buffer expiry failed: ${String(error)}`));
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}

const Envelope = v.object({ from: v.string(), message: BusMessage });
const Event = v.object({ id: v.string(), message: v.record(v.string(), v.unknown()) });

/** The readable entries of a buffer, in order (an unreadable one is skipped). */
function readEvents(raw: string[]): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (const item of raw) {
    try {
      const parsed = v.safeParse(Event, JSON.parse(item));
      if (parsed.success) events.push(parsed.output as StreamEvent);
    } catch {
      // skip an unreadable entry
    }
  }
  return events;
}
