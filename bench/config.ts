/**
 * `bun bench/config.ts`: prompts/get latency through the config service with a cold cache (Postgres),
 * a warm L2 (Redis) and a warm L1 (in process), then the hit ratio of a mixed workload with writes.
 *
 * Loopback only and bounded: a throwaway seeded database on the Postgres at TEST_DATABASE_URL (default
 * 127.0.0.1:5432), dropped at the end, and Redis at REDIS_URL (default 127.0.0.1:6379) under a unique
 * key prefix that is deleted at the end.
 */
import type { OrgContext, PromptTemplate } from "../contracts/src/index.ts";
import { createRepositories, DEMO_ORG_ID, DEMO_USER_ID } from "../db/src/index.ts";
import { createAdminService } from "../gateway/src/admin/service.ts";
import { createConfigService } from "../gateway/src/config/index.ts";
import { newKey, openDatabase, openRedis, silentLogger } from "../gateway/test/config-fixtures.ts";

const COLD = 200;
const L2 = 1_000;
const L1 = 20_000;
const MIXED = 20_000;
const ORGS = 20;
const WRITE_EVERY = 1_000;

function loopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host === "[::1]";
}

const pgUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
if (!loopback(pgUrl) || !loopback(redisUrl)) {
  console.error("bench/config only runs against loopback Postgres and Redis (TEST_DATABASE_URL, REDIS_URL).");
  process.exit(2);
}

const handle = await openDatabase();
const { redis, prefix, cleanup } = openRedis();
await redis.ping();
const config = createConfigService({
  db: handle.db,
  redis,
  secretKeys: [newKey()],
  cache: { prefix, size: 1000, ttlMs: 60_000 },
  logger: silentLogger,
});
await config.ready;

const code = new Map<string, PromptTemplate[]>();
const args = { team: "ENG" };
const get = (orgId: string) => config.getPrompt(orgId, "linear_triage_issues", args, code);

function summary(name: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
  return {
    scenario: name,
    n: sorted.length,
    mean: us(mean),
    p50: us(at(0.5)),
    p95: us(at(0.95)),
    p99: us(at(0.99)),
  };
}

async function time(n: number, before: () => void | Promise<void>, orgId = DEMO_ORG_ID): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    await before();
    const start = performance.now();
    await get(orgId);
    samples.push(performance.now() - start);
  }
  return samples;
}

const rows: ReturnType<typeof summary>[] = [];
try {
  // Cold: every read misses L1 and L2 and loads from the database.
  rows.push(
    summary("cold (postgres)", await time(COLD, () => config.invalidate({ orgId: DEMO_ORG_ID, kinds: [] }))),
  );
  await get(DEMO_ORG_ID);
  rows.push(summary("warm L2 (redis)", await time(L2, () => config.dropLocalCache())));
  await get(DEMO_ORG_ID);
  rows.push(summary("warm L1", await time(L1, () => {})));

  // Mixed: many orgs, reads spread over them, a configuration write every WRITE_EVERY reads.
  const repos = createRepositories(handle.db);
  const orgs = [DEMO_ORG_ID];
  for (let i = 1; i < ORGS; i++) {
    const org = await repos.organizations.create({ slug: `bench-${i}`, name: `Bench ${i}` });
    await repos.services.enableDefaults(org.id);
    orgs.push(org.id);
  }
  const admin = createAdminService({ db: handle.db, config, logger: silentLogger });
  const demo: OrgContext = {
    orgId: DEMO_ORG_ID,
    userId: DEMO_USER_ID,
    role: "owner",
    permissions: [],
    via: "dev",
    requestId: "bench",
  };
  config.dropLocalCache();
  const before = config.cacheStats();
  const mixed: number[] = [];
  for (let i = 0; i < MIXED; i++) {
    if (i > 0 && i % WRITE_EVERY === 0) {
      await admin.overridePrompt(demo, "linear", "linear_triage_issues", { description: `edit ${i}` });
    }
    const start = performance.now();
    await get(orgs[i % orgs.length]!);
    mixed.push(performance.now() - start);
  }
  rows.push(summary(`mixed (${ORGS} orgs, write/${WRITE_EVERY})`, mixed));
  const after = config.cacheStats();
  const l1 = after.l1Hits - before.l1Hits;
  const l2 = after.l2Hits - before.l2Hits;
  const loads = after.loads - before.loads;
  const shared = after.shared - before.shared;
  const total = l1 + l2 + loads + shared;

  console.log("\nprompts/get through the config service (Postgres + Redis on loopback)\n");
  console.table(rows);
  console.table([
    {
      reads: total,
      "L1 hits": l1,
      "L2 hits": l2,
      "database loads": loads,
      "hit ratio": `${(((l1 + l2 + shared) / total) * 100).toFixed(2)} %`,
    },
  ]);
} finally {
  await config.close();
  await cleanup();
  await handle.close();
}
