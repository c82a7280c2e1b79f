import postgres from "postgres";
import { createDb, type DbHandle, migrate } from "./client.ts";
import { seed as seedDatabase } from "./seed.ts";

const DEFAULT_BASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabaseOptions {
  /** Also run the seed (catalogue + demo organization). */
  seed?: boolean;
  /** Passed to createDb (counts queries). */
  onQuery?: (sql: string) => void;
}

/**
 * A fresh, migrated database for tests: in-memory PGlite, or a new `omni_test_<random>` database on the
 * Postgres at `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped by
 * `close()`. Returns null for `postgres` when that server is unreachable, so suites can skip and say so.
 */
export async function createTestDatabase(
  kind: "pglite" | "postgres",
  opts: TestDatabaseOptions = {},
): Promise<(DbHandle & { url: string | null }) | null> {
  let handle: DbHandle;
  let url: string | null = null;
  let drop: () => Promise<void> = async () => {};
  if (kind === "pglite") {
    handle = await createDb({ dataDir: "memory://", onQuery: opts.onQuery });
  } else {
    const base = new URL(process.env.TEST_DATABASE_URL ?? DEFAULT_BASE_URL);
    const admin = postgres(base.toString(), { max: 1, onnotice: () => {}, connect_timeout: 3 });
    const name = `omni_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    try {
      await admin.unsafe(`create database "${name}"`);
    } catch (error) {
      await admin.end({ timeout: 1 }).catch(() => {});
      if (isUnreachable(error)) return null;
      throw error;
    }
    const target = new URL(base);
    target.pathname = `/${name}`;
    url = target.toString();
    handle = await createDb({ url, onQuery: opts.onQuery });
    drop = async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    };
  }
  try {
    await migrate(handle.db);
    if (opts.seed) await seedDatabase(handle.db);
  } catch (error) {
    await handle.close();
    await drop();
    throw error;
  }
  return {
    ...handle,
    url,
    close: async () => {
      await handle.close();
      await drop();
    },
  };
}

function isUnreachable(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return (
    code === "ECONNREFUSED" ||
    code === "ENOTFOUND" ||
    code === "CONNECT_TIMEOUT" ||
    code === "EHOSTUNREACH" ||
    code === "ConnectionRefused" ||
    code === "28000" ||
    code === "28P01"
  );
}
