import type { Redis } from "ioredis";

/**
 * A per-organization generation number for authentication caches. Anything that takes access away
 * (key revoked, member removed or demoted, Clerk webhook) bumps the org's generation; every replica
 * compares a cached credential's generation with the current one on each request, so the change is
 * effective at once everywhere. Shared through Redis (one GET per request), in-process without it.
 */
export interface AuthState {
  generation(orgId: string): Promise<number>;
  bump(orgId: string): Promise<void>;
}

export interface AuthStateOptions {
  redis?: Redis | null;
  /** Key prefix in Redis (default `omni:`). */
  prefix?: string;
}

export function createAuthState(opts: AuthStateOptions = {}): AuthState {
  const local = new Map<string, number>();
  const redis = opts.redis ?? null;
  const key = (orgId: string) => `${opts.prefix ?? "omni:"}auth:gen:${orgId}`;
  return {
    async generation(orgId) {
      if (!redis) return local.get(orgId) ?? 0;
      const raw = await redis.get(key(orgId));
      return raw ? Number(raw) : 0;
    },
    async bump(orgId) {
      local.set(orgId, (local.get(orgId) ?? 0) + 1);
      if (redis) await redis.incr(key(orgId));
    },
  };
}
