import { randomBytes } from "node:crypto";
import { createRepositories, createTestDatabase, type Database, type DbHandle } from "@omni/db";
import { Redis } from "ioredis";
import { secretKey } from "../src/config/secrets.ts";
import { registerBuiltInServers } from "./fixtures/catalogue.ts";

/** A fresh seeded Postgres database (demo org + catalogue) that counts the statements it runs. */
export async function openDatabase(): Promise<
  DbHandle & { queries: () => number; resetQueries: () => void }
> {
  let queries = 0;
  const handle = await createTestDatabase("postgres", { seed: true, onQuery: () => queries++ });
  if (!handle) throw new Error("these tests need Postgres at 127.0.0.1:5432 (TEST_DATABASE_URL)");
  await registerBuiltInServers(handle.db);
  return {
    ...handle,
    queries: () => queries,
    resetQueries: () => {
      queries = 0;
    },
  };
}

/** A Redis client on a unique key prefix; `cleanup()` deletes the prefix's keys and disconnects. */
export function openRedis(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
  });
  const prefix = `omni-test-${crypto.randomUUID().slice(0, 8)}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
      redis.disconnect();
    },
  };
}

export const newKey = () => secretKey(randomBytes(32));

/** A second organization with the default servers enabled and a member. */
export async function createOrg(db: Database, slug: string): Promise<{ orgId: string; userId: string }> {
  const repos = createRepositories(db);
  const org = await repos.organizations.create({ slug, name: slug });
  await repos.services.enableDefaults(org.id);
  const user = await repos.users.create({ email: `${slug}@example.test` });
  await repos.memberships.add(org.id, { userId: user.id, role: "admin" });
  return { orgId: org.id, userId: user.id };
}

export const silentLogger = { info() {}, warn() {}, error() {} };
