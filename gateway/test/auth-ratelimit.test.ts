import { describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { createRateLimiter, rateLimitedResponse } from "../src/security/rate-limit.ts";
import { type AuthWorld, call, errorCode, field, useAuthWorld } from "./fixtures/auth-fixtures.ts";

let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

async function keyFor(org: AuthWorld["a"], app: ReturnType<AuthWorld["replica"]>["app"]) {
  const res = await call(app, "POST", "/api/keys", {
    token: world.token(org, org.owner),
    body: { name: "load", scopes: ["keys:read"] },
  });
  expect(res.status).toBe(201);
  return String(field(res.body, "secret"));
}

describe("rate limits", () => {
  test("1,000 requests past a key's limit get 429 with Retry-After; another org is unaffected", async () => {
    // Creation itself goes through the org bucket, so the org limit is generous here; a one-day window
    // keeps refills out of the count however slow the machine is.
    const { app } = world.replica({
      RATE_LIMIT_PER_KEY: "5",
      RATE_LIMIT_PER_ORG: "100000",
      RATE_LIMIT_WINDOW_SECONDS: "86400",
    });
    const keyA = await keyFor(world.a, app);
    const keyB = await keyFor(world.b, app);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let batch = 0; batch < 21; batch++) {
      const results = await Promise.all(
        Array.from({ length: batch === 20 ? 5 : 50 }, () => call(app, "GET", "/api/keys", { apiKey: keyA })),
      );
      for (const r of results) {
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter = r.headers.get("retry-after");
          expect(errorCode(r.body)).toBe("rate_limited");
        }
      }
    }
    expect(statuses.length).toBe(1005);
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    expect(statuses.filter((s) => s === 429).length).toBe(1000);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);

    const other = await call(app, "GET", "/api/keys", { apiKey: keyB });
    expect(other.status).toBe(200);
    // Nothing else broke: a person of org A (no key bucket) still gets through.
    const person = await call(app, "GET", "/api/keys", { token: world.token(world.a, world.a.admin) });
    expect(person.status).toBe(200);
  });

  test("an org's limit covers all its callers and is shared by replicas through Redis", async () => {
    const prefix = `${world.prefix}shared:`;
    const day = 86_400_000;
    const one = createRateLimiter({ redis: world.redis, prefix, perKey: 100, perOrg: 4, windowMs: day });
    const two = createRateLimiter({ redis: world.redis, prefix, perKey: 100, perOrg: 4, windowMs: day });
    const results = [
      await one.consume({ orgId: "org_x", keyId: "key_1" }),
      await two.consume({ orgId: "org_x", keyId: "key_2" }),
      await one.consume({ orgId: "org_x" }),
      await two.consume({ orgId: "org_x", keyId: "key_1" }),
      await one.consume({ orgId: "org_x", keyId: "key_3" }),
    ];
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, false]);
    expect(results[4]).toMatchObject({ scope: "org", limit: 4 });
    expect((await two.consume({ orgId: "org_y" })).allowed).toBe(true);
  });

  test("a refused request takes no token from the other bucket", async () => {
    const redis = new Redis({ host: "127.0.0.1", port: 6379 });
    try {
      const limiter = createRateLimiter({
        redis,
        prefix: `${world.prefix}atomic:`,
        perKey: 1,
        perOrg: 3,
        windowMs: 86_400_000,
      });
      expect((await limiter.consume({ orgId: "org_z", keyId: "key_a" })).allowed).toBe(true);
      for (let i = 0; i < 10; i++)
        expect((await limiter.consume({ orgId: "org_z", keyId: "key_a" })).scope).toBe("key");
      // The key's refusals did not drain the org: two more callers still fit.
      expect((await limiter.consume({ orgId: "org_z", keyId: "key_b" })).allowed).toBe(true);
      expect((await limiter.consume({ orgId: "org_z" })).allowed).toBe(true);
      expect((await limiter.consume({ orgId: "org_z" })).allowed).toBe(false);
    } finally {
      redis.disconnect();
    }
  });

  test("without Redis the same limits hold in memory", async () => {
    const limiter = createRateLimiter({ perKey: 2, perOrg: 100, windowMs: 86_400_000 });
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await limiter.consume({ orgId: "o", keyId: "k" })).allowed);
    expect(seen).toEqual([true, true, false, false]);
    expect((await limiter.consume({ orgId: "o", keyId: "k2" })).allowed).toBe(true);
  });

  test("MCP requests get a JSON-RPC error -32029 with Retry-After", async () => {
    const limiter = createRateLimiter({ perKey: 1, windowMs: 86_400_000 });
    await limiter.consume({ orgId: "o", keyId: "k" });
    const decision = await limiter.consume({ orgId: "o", keyId: "k" });
    const res = rateLimitedResponse(decision, { id: 7 });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { id: number; error: { code: number; message: string } };
    expect(body.id).toBe(7);
    expect(body.error.code).toBe(-32029);
    expect(body.error.message).toContain("API key");
  });
});
