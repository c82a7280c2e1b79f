/**
 * `bun bench/sessions.ts`: what it costs a replica to find the 2025 session a request names, the two ways
 * issue 16 asks to compare, measured in one run on loopback:
 *
 * - sealed (agentgateway's way, kept): the id carries the session; a replica opens it once (AES-256-GCM),
 *   reads the shared bits once (one HGETALL), then every request is a map lookup;
 * - stored (ToolHive's way): the session lives in Redis as JSON; a replica without a local copy GETs and
 *   parses it, and to see another replica's changes (log level, subscriptions) and DELETEs it would have
 *   to on every request: one round trip per request.
 *
 * And the memory an idle session costs in the process (10,000 sessions, heap after a full GC) and in
 * Redis (none until it changes its log level or subscriptions). BENCH_SESSIONS, BENCH_OPS override.
 */

import { heapStats } from "bun:jsc";
import { randomBytes } from "node:crypto";
import { SessionStore } from "../gateway/src/mcp/session.ts";
import { MemorySessionBus, RedisSessionBus } from "../gateway/src/mcp/session-bus.ts";
import { SessionSealer } from "../gateway/src/mcp/session-seal.ts";
import { openRedis } from "../gateway/test/config-fixtures.ts";

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const OPS = Number(process.env.BENCH_OPS ?? 5000);
// REDIS_URL (default 127.0.0.1:6379) under a unique prefix, removed at the end.
const { redis, prefix, cleanup } = openRedis();
const quiet = { warn: () => {} };

const caller = {
  org: {
    orgId: "00000000-0000-4000-8000-000000000001",
    userId: "user_2abcdefghijklmnop",
    role: "member" as const,
    permissions: ["tools:call", "tools:read", "prompts:read", "resources:read"],
    via: "api_key" as const,
  },
  credentialId: "00000000-0000-4000-8000-0000000000aa",
};
const init = {
  caller,
  protocolVersion: "2025-11-25" as const,
  clientCapabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } },
  clientInfo: { name: "claude-code", version: "2.0.14" },
};

const key = randomBytes(32);
const sealer = new SessionSealer(key, 24 * 60 * 60_000);

async function timed(label: string, ops: number, fn: (i: number) => Promise<unknown> | unknown) {
  for (let i = 0; i < Math.min(200, ops); i++) await fn(i);
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) await fn(i);
  const us = ((performance.now() - t0) * 1000) / ops;
  return { label, us };
}

// ---- per-request cost ------------------------------------------------------------------------------
const writer = new SessionStore(60_000, () => {}, sealer, new MemorySessionBus());
const tokens = Array.from({ length: OPS }, () => writer.create(init).token);
const warm = new SessionStore(60_000, () => {}, sealer, new MemorySessionBus());
for (const token of tokens) await warm.resolve(token);
const redisBus = new RedisSessionBus(redis, prefix, quiet);
await redisBus.ready;
// The stored variant: the same session as JSON under one key per session.
const storedKeys = tokens.map((_, i) => `${prefix}stored:${i}`);
const json = JSON.stringify({ ...init, logLevel: null, subscriptions: [], createdAt: Date.now() });
await Promise.all(storedKeys.map((k) => redis.set(k, json, "EX", 600)));

const rows = [
  await timed("sealed, warm (map lookup: every request after the first on a replica)", OPS, (i) =>
    warm.resolve(tokens[i]!),
  ),
  await timed("sealed, cold, one process (AES-GCM open + parse)", OPS, (i) => sealer.open(tokens[i]!)),
  await timed("sealed, cold, with Redis (open + one HGETALL: a replica's first sight)", OPS, async (i) => {
    sealer.open(tokens[i]!);
    await redisBus.load(`sid${i}`);
  }),
  await timed("stored in Redis (GET + JSON.parse: every request, to see changes)", OPS, async (i) =>
    JSON.parse((await redis.get(storedKeys[i]!)) ?? "{}"),
  ),
];
const base = rows[0]!.us;
console.log(`\nPer-request cost of finding a 2025 session (${OPS} ops each, µs/op, ratio to warm):`);
for (const row of rows) {
  console.log(
    `  ${row.label.padEnd(76)} ${row.us.toFixed(2).padStart(8)} µs  ${(row.us / base).toFixed(1)}x`,
  );
}
console.log(`  sealed id length: ${tokens[0]!.length} characters (the Mcp-Session-Id header)`);

// ---- memory per idle session --------------------------------------------------------------------------
const usedBefore = Number((await redis.info("memory")).match(/used_memory:(\d+)/)?.[1] ?? 0);
Bun.gc(true);
const heapBefore = heapStats().heapSize;
const store = new SessionStore(60 * 60_000, () => {}, sealer, redisBus);
const held: string[] = [];
for (let i = 0; i < SESSIONS; i++) {
  // As the HTTP edge does: a fresh caller object per request, the session keeps it.
  held.push(store.create({ ...init, caller: { ...caller, org: { ...caller.org } } }).token);
}
Bun.gc(true);
const heapAfter = heapStats().heapSize;
const usedAfter = Number((await redis.info("memory")).match(/used_memory:(\d+)/)?.[1] ?? 0);
console.log(`\nMemory per idle 2025 session (${SESSIONS} sessions, after a full GC):`);
console.log(
  `  gateway heap: ${((heapAfter - heapBefore) / SESSIONS / 1024).toFixed(2)} KB/session (target < 5 KB), ` +
    `${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)} MB in all (ids held by the bench included)`,
);
console.log(
  `  Redis: ${((usedAfter - usedBefore) / SESSIONS).toFixed(1)} bytes/session (nothing is written until a session changes its log level or subscriptions)`,
);
if (store.size !== SESSIONS || held.length !== SESSIONS) throw new Error("sessions lost");
store.close();
warm.close();
writer.close();

await redisBus.close();
await cleanup();
