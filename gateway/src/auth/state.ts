import type { Redis } from "ioredis";
import type { Logger } from "../security/log.ts";

/**
 * A per-organization generation number for authentication caches. Anything that takes access away
 * (key revoked, member removed or demoted, Clerk webhook) bumps the org's generation; every replica
 * compares a cached credential's generation with the current one on each request, so the change is
 * effective at once everywhere. Shared through Redis (one GET per request), in-process without it.
 */
export interface AuthState {
  generation(orgId: string): Promise<number>;
  bump(orgId: string): Promise<void>;
  /**
   * Calls `listener` with the org whenever access is taken away in it, on this replica or (with Redis,
   * over pub/sub) any other: long-lived connections re-check their credential at once. Returns unsubscribe.
   */
  onBump(listener: (orgId: string) => void): () => void;
  /** Ends the pub/sub subscription (shutdown). */
  close(): Promise<void>;
}

export interface AuthStateOptions {
  redis?: Redis | null;
  /** Key prefix in Redis (default `omni:`). */
  prefix?: string;
  logger?: Pick<Logger, "warn" | "error">;
}

export function createAuthState(opts: AuthStateOptions = {}): AuthState {
  const local = new Map<string, number>();
  const redis = opts.redis ?? null;
  const prefix = opts.prefix ?? "omni:";
  const key = (orgId: string) => `${prefix}auth:gen:${orgId}`;
  const channel = `${prefix}auth:bumps`;
  const listeners = new Set<(orgId: string) => void>();
  const notify = (orgId: string) => {
    for (const listener of listeners) {
      try {
        listener(orgId);
      } catch (error) {
        opts.logger?.error("auth: a revocation listener failed", error);
      }
    }
  };
  let subscriber: Redis | null = null;
  const subscribe = () => {
    if (!redis || subscriber) return;
    subscriber = redis.duplicate();
    // An outage is reported once per reconnect attempt by ioredis; never an unhandled 'error' event.
    subscriber.on("error", (error: Error) => opts.logger?.warn(`auth: revocation channel: ${error.message}`));
    subscriber.on("message", (from: string, orgId: string) => {
      if (from === channel) notify(orgId);
    });
    subscriber
      .subscribe(channel)
      .catch((error: unknown) => opts.logger?.warn("auth: subscribe failed", error));
  };
  return {
    async generation(orgId) {
      if (!redis) return local.get(orgId) ?? 0;
      const raw = await redis.get(key(orgId));
      return raw ? Number(raw) : 0;
    },
    async bump(orgId) {
      local.set(orgId, (local.get(orgId) ?? 0) + 1);
      if (redis) {
        await redis.incr(key(orgId));
        // Every replica's listeners (this one's included) hear it from the channel.
        await redis.publish(channel, orgId);
      } else {
        notify(orgId);
      }
    },
    onBump(listener) {
      listeners.add(listener);
      subscribe();
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      listeners.clear();
      await subscriber?.quit().catch(() => {});
      subscriber = null;
    },
  };
}
