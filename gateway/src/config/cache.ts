import type { Redis } from "ioredis";
import * as v from "valibot";
import type { ConfigChange } from "../ports.ts";

/**
 * The config cache: L1 in-process LRU (size + TTL) → L2 Redis hash per org (when a client is given) →
 * the loader (Postgres). Concurrent misses for one key share one load (single flight).
 *
 * Invalidation is per organization. A write bumps the org's generation, drops its L1 entries, and with
 * Redis in one MULTI: increments the org's version key, deletes its L2 hash and publishes the change on
 * `<prefix>config:changes`; every other instance drops its L1 entries and reports the change to its
 * listeners. L2 fills are conditional on the version read before the load (a Lua check-and-set), so a
 * load that raced a write never stores stale data.
 */

export interface CacheOptions {
  /** L1 entries (LRU). */
  size: number;
  /** L1 time to live: bounds staleness should an invalidation message be lost. */
  ttlMs: number;
  /** L2 time to live. */
  l2TtlMs: number;
  /** Redis key and channel prefix. */
  prefix: string;
}

/** The cache's defaults (`CONFIG_CACHE_*` in `.env.example`). */
export const DEFAULT_CACHE: CacheOptions = { size: 1000, ttlMs: 60_000, l2TtlMs: 600_000, prefix: "omni:" };

export interface CacheLogger {
  warn(message: string, ...details: unknown[]): void;
}

export interface CacheStats {
  l1Hits: number;
  l2Hits: number;
  loads: number;
  /** Reads that joined a load already in flight. */
  shared: number;
}

const ChangeMessage = v.object({
  origin: v.string(),
  change: v.object({
    orgId: v.string(),
    kinds: v.array(v.picklist(["tools", "prompts", "resources"])),
    uris: v.optional(v.array(v.string())),
  }),
});

const SET_IF_VERSION = `
local current = redis.call('GET', KEYS[2])
if (current or '0') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0`;

interface L1Entry {
  value: unknown;
  expires: number;
}

export class ConfigCache {
  private readonly l1 = new Map<string, L1Entry>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly generations = new Map<string, number>();
  private readonly origin = crypto.randomUUID();
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private readonly counters: CacheStats = { l1Hits: 0, l2Hits: 0, loads: 0, shared: 0 };

  constructor(
    private readonly options: CacheOptions,
    private readonly redis: Redis | undefined,
    private readonly onRemoteChange: (change: ConfigChange) => void,
    private readonly logger: CacheLogger,
  ) {
    this.channel = `${options.prefix}config:changes`;
  }

  /** Subscribes to other instances' invalidations (no-op without Redis). */
  async start(): Promise<void> {
    if (!this.redis || this.subscriber) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    // Outages are reported here and ioredis reconnects (and resubscribes); never an unhandled 'error' event.
    subscriber.on("error", (error: Error) =>
      this.logger.warn(`config cache: invalidation channel: ${error.message}`),
    );
    subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        parsed = undefined;
      }
      const result = v.safeParse(ChangeMessage, parsed);
      if (!result.success) {
        this.logger.warn(`config cache: ignoring malformed message on ${channel}`);
        return;
      }
      if (result.output.origin === this.origin) return;
      this.dropLocal(result.output.change.orgId);
      this.onRemoteChange(result.output.change);
    });
    await subscriber.subscribe(this.channel);
  }

  stats(): CacheStats {
    return { ...this.counters };
  }

  private l1Key(orgId: string, field: string): string {
    return `${orgId}\u0000${field}`;
  }

  private hashKey(orgId: string): string {
    return `${this.options.prefix}config:org:${orgId}`;
  }

  private versionKey(orgId: string): string {
    return `${this.options.prefix}config:version:${orgId}`;
  }

  /**
   * The cached value of `field` for `orgId`, loading it on a miss. `decode` validates what comes back
   * from Redis (a malformed entry is treated as a miss).
   */
  async get<T>(
    orgId: string,
    field: string,
    load: () => Promise<T>,
    decode: (raw: unknown) => T | undefined,
  ): Promise<T> {
    const key = this.l1Key(orgId, field);
    const hit = this.l1.get(key);
    if (hit && hit.expires > Date.now()) {
      this.l1.delete(key);
      this.l1.set(key, hit); // most recently used last
      this.counters.l1Hits++;
      return hit.value as T;
    }
    if (hit) this.l1.delete(key);
    const pending = this.inflight.get(key);
    if (pending) {
      this.counters.shared++;
      return pending as Promise<T>;
    }
    const generation = this.generations.get(orgId) ?? 0;
    const promise = this.fill(orgId, field, load, decode).then(
      (value) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
        if ((this.generations.get(orgId) ?? 0) === generation) this.setL1(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
        throw error;
      },
    );
    this.inflight.set(key, promise);
    return promise;
  }

  private async fill<T>(
    orgId: string,
    field: string,
    load: () => Promise<T>,
    decode: (raw: unknown) => T | undefined,
  ): Promise<T> {
    if (!this.redis) {
      this.counters.loads++;
      return load();
    }
    let version = "0";
    try {
      const replies = await this.redis
        .multi()
        .hget(this.hashKey(orgId), field)
        .get(this.versionKey(orgId))
        .exec();
      const cached = replies?.[0]?.[1];
      version = typeof replies?.[1]?.[1] === "string" ? (replies[1][1] as string) : "0";
      if (typeof cached === "string") {
        const value = decode(JSON.parse(cached));
        if (value !== undefined) {
          this.counters.l2Hits++;
          return value;
        }
      }
    } catch (error) {
      this.logger.warn("config cache: Redis read failed, loading from the database", error);
    }
    this.counters.loads++;
    const value = await load();
    try {
      await this.redis.eval(
        SET_IF_VERSION,
        2,
        this.hashKey(orgId),
        this.versionKey(orgId),
        version,
        field,
        JSON.stringify(value),
        String(this.options.l2TtlMs),
      );
    } catch (error) {
      this.logger.warn("config cache: Redis write failed", error);
    }
    return value;
  }

  private setL1(key: string, value: unknown): void {
    if (this.options.size === 0 || this.options.ttlMs === 0) return;
    this.l1.delete(key);
    this.l1.set(key, { value, expires: Date.now() + this.options.ttlMs });
    while (this.l1.size > this.options.size) {
      const oldest = this.l1.keys().next().value;
      if (oldest === undefined) break;
      this.l1.delete(oldest);
    }
  }

  private dropLocal(orgId: string): void {
    this.generations.set(orgId, (this.generations.get(orgId) ?? 0) + 1);
    const prefix = `${orgId}\u0000`;
    for (const key of [...this.l1.keys()]) if (key.startsWith(prefix)) this.l1.delete(key);
    for (const key of [...this.inflight.keys()]) if (key.startsWith(prefix)) this.inflight.delete(key);
  }

  /** Drops the org everywhere: this L1, L2, and (published) every other instance's L1. */
  async invalidate(change: ConfigChange): Promise<void> {
    this.dropLocal(change.orgId);
    if (!this.redis) return;
    await this.redis
      .multi()
      .incr(this.versionKey(change.orgId))
      .del(this.hashKey(change.orgId))
      .publish(this.channel, JSON.stringify({ origin: this.origin, change }))
      .exec();
  }

  /** Drops only this instance's L1 (benchmarks, tests of the L2 path). */
  clearLocal(): void {
    this.l1.clear();
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    // Closing the connection ends the subscription (and never waits on an unreachable Redis).
    subscriber?.disconnect();
  }
}
