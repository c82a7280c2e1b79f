import { ErrorCode, type RequestId } from "@omni/contracts";
import type { Redis } from "ioredis";
import { rateLimitRejections } from "../observability/metrics.ts";
import { apiError } from "./errors.ts";

/**
 * Token-bucket rate limits per API key and per organization (`RATE_LIMIT_PER_KEY`, `RATE_LIMIT_PER_ORG`,
 * requests per minute; bursts up to the same number). With Redis the buckets are shared by every replica
 * (one atomic Lua script per check, clock from the Redis server); without Redis they live in memory.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Which bucket refused (`key` or `org`), when refused. */
  scope?: "key" | "org";
  /** Seconds until a request would be allowed again (whole seconds, at least 1) when refused. */
  retryAfterSeconds: number;
  /** Requests left in the tightest bucket. */
  remaining: number;
  limit: number;
}

export interface RateLimiter {
  /** Takes one token from the key's bucket (when `keyId` is given) and from the org's bucket. */
  consume(subject: { orgId: string; keyId?: string | null }): Promise<RateLimitDecision>;
}

export interface RateLimitOptions {
  redis?: Redis | null;
  prefix?: string;
  /** Requests per minute per API key (0 disables). Default 600. */
  perKey?: number;
  /** Requests per minute per organization (0 disables). Default 3000. */
  perOrg?: number;
  /** The window the limits are per (a full bucket refills over it). Default 60 000 ms. */
  windowMs?: number;
}

// KEYS: bucket keys. ARGV: per bucket (capacity, refill per ms) pairs. Checks every bucket first and takes
// a token from all of them only when all have one, so a refused request costs nothing.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local states = {}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[i * 2 - 1])
  local rate = tonumber(ARGV[i * 2])
  local data = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(data[1])
  local ts = tonumber(data[2])
  if tokens == nil then tokens = capacity; ts = now end
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
  states[i] = tokens
  if tokens < 1 then
    local wait = math.ceil((1 - tokens) / rate)
    return {0, i, wait, 0}
  end
end
local remaining = -1
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[i * 2 - 1])
  local rate = tonumber(ARGV[i * 2])
  local tokens = states[i] - 1
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(capacity / rate) + 1000)
  if remaining < 0 or tokens < remaining then remaining = math.floor(tokens) end
end
return {1, 0, 0, remaining}
`;

interface Bucket {
  key: string;
  scope: "key" | "org";
  capacity: number;
}

export function createRateLimiter(opts: RateLimitOptions = {}): RateLimiter {
  const perKey = opts.perKey ?? 600;
  const perOrg = opts.perOrg ?? 3000;
  const prefix = `${opts.prefix ?? "omni:"}rl:`;
  const redis = opts.redis ?? null;
  const memory = new Map<string, { tokens: number; ts: number }>();

  function buckets(subject: { orgId: string; keyId?: string | null }): Bucket[] {
    const out: Bucket[] = [];
    if (subject.keyId && perKey > 0)
      out.push({ key: `${prefix}key:${subject.keyId}`, scope: "key", capacity: perKey });
    if (perOrg > 0) out.push({ key: `${prefix}org:${subject.orgId}`, scope: "org", capacity: perOrg });
    return out;
  }

  const windowMs = opts.windowMs ?? 60_000;
  const ratePerMs = (capacity: number) => capacity / windowMs;

  function consumeMemory(list: Bucket[]): RateLimitDecision {
    const now = Date.now();
    const levels = list.map((b) => {
      const state = memory.get(b.key) ?? { tokens: b.capacity, ts: now };
      return Math.min(b.capacity, state.tokens + Math.max(0, now - state.ts) * ratePerMs(b.capacity));
    });
    for (const [i, b] of list.entries()) {
      const tokens = levels[i]!;
      if (tokens < 1) {
        const wait = Math.ceil((1 - tokens) / ratePerMs(b.capacity));
        return refused(b, wait);
      }
    }
    if (memory.size > 100_000) memory.clear();
    let remaining = Number.POSITIVE_INFINITY;
    for (const [i, b] of list.entries()) {
      const tokens = levels[i]! - 1;
      memory.set(b.key, { tokens, ts: now });
      remaining = Math.min(remaining, Math.floor(tokens));
    }
    return allowed(list, remaining);
  }

  function refused(b: Bucket, waitMs: number): RateLimitDecision {
    rateLimitRejections.inc({ scope: b.scope });
    return {
      allowed: false,
      scope: b.scope,
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      remaining: 0,
      limit: b.capacity,
    };
  }

  function allowed(list: Bucket[], remaining: number): RateLimitDecision {
    return {
      allowed: true,
      retryAfterSeconds: 0,
      remaining: Number.isFinite(remaining) ? remaining : 0,
      limit: Math.min(...list.map((b) => b.capacity)),
    };
  }

  return {
    async consume(subject) {
      const list = buckets(subject);
      if (list.length === 0) return { allowed: true, retryAfterSeconds: 0, remaining: 0, limit: 0 };
      if (!redis) return consumeMemory(list);
      const args = list.flatMap((b) => [String(b.capacity), String(ratePerMs(b.capacity))]);
      const result = (await redis.eval(SCRIPT, list.length, ...list.map((b) => b.key), ...args)) as number[];
      const [ok, index, wait, remaining] = result;
      if (ok === 1) return allowed(list, remaining ?? 0);
      return refused(list[(index ?? 1) - 1]!, wait ?? 1000);
    },
  };
}

/** HTTP headers for a decision (`Retry-After` when refused, `RateLimit-*` always). */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
  };
  if (!decision.allowed) headers["retry-after"] = String(decision.retryAfterSeconds);
  return headers;
}

/**
 * The 429 response. For MCP requests pass the JSON-RPC id (or null): the body is then a JSON-RPC error
 * with code -32029; otherwise `{error: "rate_limited", message}`.
 */
export function rateLimitedResponse(decision: RateLimitDecision, mcp?: { id: RequestId | null }): Response {
  const message = `Rate limit exceeded for this ${decision.scope === "key" ? "API key" : "organization"} (${decision.limit} requests per window); retry in ${decision.retryAfterSeconds}s.`;
  const body = mcp
    ? {
        jsonrpc: "2.0",
        id: mcp.id,
        error: {
          code: ErrorCode.RateLimited,
          message,
          data: { retryAfterSeconds: decision.retryAfterSeconds, scope: decision.scope },
        },
      }
    : apiError("rate_limited", message, { retryAfterSeconds: decision.retryAfterSeconds });
  return new Response(JSON.stringify(body), {
    status: 429,
    headers: { "content-type": "application/json", ...rateLimitHeaders(decision) },
  });
}
