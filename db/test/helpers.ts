import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../src/index.ts";
import { createTestDatabase } from "../src/index.ts";

export const KINDS = ["pglite", "postgres"] as const;
export type Kind = (typeof KINDS)[number];

/** Rows of a raw query, whichever driver ran it (postgres-js returns an array, PGlite `{ rows }`). */
export async function rows<T = Record<string, unknown>>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return (result as { rows: T[] }).rows;
}

export async function count(db: Database, table: string, where?: SQL): Promise<number> {
  const [row] = await rows<{ n: number | string }>(
    db,
    sql`select count(*)::int as n from ${sql.identifier(table)} ${where ? sql`where ${where}` : sql``}`,
  );
  return Number(row!.n);
}

/** Opens a test database of the kind, or logs that Postgres is unreachable and returns null. */
export async function open(kind: Kind, seed = false, onQuery?: (sql: string) => void) {
  const handle = await createTestDatabase(kind, { seed, onQuery });
  if (!handle) {
    console.warn(
      `SKIPPED: db ${kind} suite: no Postgres reachable at ${process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"}`,
    );
  }
  return handle;
}

export const unique = () => crypto.randomUUID().slice(0, 8);

/** Timeout for tests that start databases: the shared 2-core machine can be slow. */
export const SLOW = 120_000;
