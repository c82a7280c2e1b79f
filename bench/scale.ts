/**
 * `bun bench/scale.ts`: issue 16's load test. Two gateway processes (the production entry point) on one
 * Postgres and one Redis behind a real HAProxy (round robin, checks on /ready), loopback only, bounded:
 *
 * 1. 10,000 idle 2025 sessions created through HAProxy (after a warm-up): the gateway processes' RSS
 *    growth per session (an upper bound: RSS keeps garbage the GC has not returned; bench/sessions.ts
 *    measures the heap after a full GC), and
 *    Redis's memory per session (reported separately);
 * 2. 60 s of mixed traffic from 200 sessions (150 2025 sessions, 50 stateless 2026-07-28 clients):
 *    tools/list, tools/call, prompts/list, prompts/get; errors (429s counted apart), p50/p99;
 * 3. the processes' RSS before, right after, and 10 s after the load (no growth once it ends).
 *
 * BENCH_SCALE_SECONDS (60), BENCH_SCALE_SESSIONS (200), BENCH_SCALE_IDLE (10000) override. Needs Postgres
 * (127.0.0.1:5432), Redis (REDIS_URL, default 127.0.0.1:6379) and /usr/sbin/haproxy.
 */
import { readFileSync } from "node:fs";
import { openRedis } from "../gateway/test/config-fixtures.ts";
import { startHaproxy } from "../gateway/test/fixtures/haproxy.ts";
import { startGatewayProcess, startProcessWorld } from "../gateway/test/fixtures/process.ts";
import { BARE_META, modernInit } from "../gateway/test/fixtures/replicas.ts";
import { alphaServer } from "../gateway/test/fixtures/test-servers.ts";

const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 60);
const SESSIONS = Number(process.env.BENCH_SCALE_SESSIONS ?? 200);
const IDLE = Number(process.env.BENCH_SCALE_IDLE ?? 10_000);

const world = await startProcessWorld(alphaServer);
const { redis, prefix, cleanup } = openRedis();
const env = {
  ...world.env,
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  REDIS_PREFIX: prefix,
  LOG_LEVEL: "warn",
  // The load is one key: its limits well above it (a 429 would still be counted, apart from errors).
  RATE_LIMIT_PER_KEY: "10000000",
  RATE_LIMIT_PER_ORG: "10000000",
};
const gateways = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
const lb = await startHaproxy({ a: gateways[0]!.url, b: gateways[1]!.url }, { checkMs: 1000 });
const url = `${lb.url}/mcp`;
const auth = { authorization: `Bearer ${world.ownerKey}` };

/** Resident memory of a process, in bytes (Linux /proc). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) * 1024;
}
const rssAll = () => gateways.map((g) => rss(g.proc.pid));
const redisMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

let nextId = 1;
/** One 2025 request; the JSON-RPC message from a JSON or SSE body. */
async function post(sessionId: string | null, method: string, params: Record<string, unknown>) {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      ...auth,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } : {}),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
  });
  const text = await res.text();
  const data = text.split("\n").findLast((line) => line.startsWith("data: "));
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(data ? data.slice(6) : text);
  } catch {
    // not JSON: an error
  }
  return { status: res.status, sessionId: res.headers.get("mcp-session-id"), body };
}

const initParams = {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "bench-scale", version: "1.0.0" },
};

async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

// ---- 1. idle sessions -----------------------------------------------------------------------------------
// Warm-up (JIT, connection pools, buffers) before the baseline, so the delta is the sessions'.
await pool(1000, 16, () => post(null, "initialize", initParams));
await Bun.sleep(1000);
const rssIdle0 = rssAll();
const redis0 = await redisMemory();
const idleIds = await pool(IDLE, 16, async () => (await post(null, "initialize", initParams)).sessionId);
const failedInit = idleIds.filter((id) => !id).length;
await Bun.sleep(2000);
const rssIdle1 = rssAll();
const redis1 = await redisMemory();
const perSession = rssIdle1.map((after, i) => (after - rssIdle0[i]!) / (IDLE / 2));

// ---- 2. mixed load -------------------------------------------------------------------------------------
const legacy = Math.round(SESSIONS * 0.75);
const sessionIds = await pool(legacy, 16, async () => (await post(null, "initialize", initParams)).sessionId);
const rssLoad0 = rssAll();
const ops = [
  ["tools/list", {}],
  ["tools/call", { name: "alpha_echo", arguments: { text: "load" } }],
  ["prompts/list", {}],
  ["prompts/get", { name: "alpha_greet", arguments: { who: "world" } }],
] as const;
const latencies: number[] = [];
const counts = { ok: 0, errors: 0, rateLimited: 0, byEra: { "2025": 0, "2026-07-28": 0 } };
const errorSamples: string[] = [];
const deadline = performance.now() + SECONDS * 1000;
await Promise.all(
  Array.from({ length: SESSIONS }, async (_, worker) => {
    const sessionId = worker < legacy ? sessionIds[worker] : undefined;
    let round = worker;
    while (performance.now() < deadline) {
      const [method, params] = ops[round++ % ops.length]!;
      const t0 = performance.now();
      let status = 0;
      let body: Record<string, unknown> = {};
      try {
        if (sessionId !== undefined) {
          ({ status, body } = await post(sessionId, method, params));
        } else {
          const res = await fetch(
            url,
            modernInit(method, params, { bearer: world.ownerKey, meta: BARE_META }),
          );
          status = res.status;
          const text = await res.text();
          const data = text.split("\n").findLast((line) => line.startsWith("data: "));
          body = JSON.parse(data ? data.slice(6) : text);
        }
      } catch (error) {
        body = { error: String(error) };
      }
      const ms = performance.now() - t0;
      if (status === 429) counts.rateLimited++;
      else if (status === 200 && body.result !== undefined) {
        counts.ok++;
        counts.byEra[sessionId !== undefined ? "2025" : "2026-07-28"]++;
        latencies.push(ms);
      } else {
        counts.errors++;
        if (errorSamples.length < 5)
          errorSamples.push(`${method} ${status} ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
  }),
);
const rssLoad1 = rssAll();
await Bun.sleep(10_000);
const rssLoad2 = rssAll();
const sorted = Float64Array.from(latencies).sort();
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

console.log(`\nbench/scale: 2 gateway processes behind HAProxy (round robin), Postgres + Redis, loopback`);
console.log(`load average at the end: ${load} (2 cores shared)`);
console.log(`\n1. ${IDLE} idle 2025 sessions (${failedInit} failed to initialize):`);
rssIdle1.forEach((after, i) => {
  console.log(
    `  replica ${"ab"[i]}: RSS ${mb(rssIdle0[i]!)} -> ${mb(after)}: ${(perSession[i]! / 1024).toFixed(2)} KB per session (target < 5 KB)`,
  );
});
console.log(
  `  Redis used_memory: ${mb(redis0)} -> ${mb(redis1)}: ${((redis1 - redis0) / IDLE).toFixed(1)} bytes per session`,
);
console.log(
  `\n2. ${SECONDS} s of mixed traffic from ${SESSIONS} sessions (${legacy} 2025, ${SESSIONS - legacy} 2026-07-28):`,
);
console.log(
  `  ${counts.ok} ok (${counts.byEra["2025"]} 2025, ${counts.byEra["2026-07-28"]} 2026-07-28), ` +
    `${(counts.ok / SECONDS).toFixed(0)} req/s, errors ${counts.errors}, 429s ${counts.rateLimited}`,
);
console.log(
  `  latency p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${pct(100).toFixed(1)} ms`,
);
for (const sample of errorSamples) console.log(`  error: ${sample}`);
console.log(`\n3. gateway RSS before / right after / 10 s after the load:`);
rssLoad0.forEach((before, i) => {
  console.log(`  replica ${"ab"[i]}: ${mb(before)} / ${mb(rssLoad1[i]!)} / ${mb(rssLoad2[i]!)}`);
});

await lb.stop();
for (const gateway of gateways) await gateway.stop();
await cleanup();
await world.close();
if (counts.errors > 0) process.exit(1);
