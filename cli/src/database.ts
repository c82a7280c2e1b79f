import { resolve } from "node:path";
import type { OptionValues } from "@commander-js/extra-typings";
import { type Command, Option } from "@commander-js/extra-typings";
import { createDb, type DbHandle, migrationStatus } from "@omni/db";
import { CliError, withProgress } from "./output.ts";

/**
 * Operator commands talk to the database directly: Postgres at `--database-url` / `DATABASE_URL`, else
 * the embedded PGlite in `<OMNI_DATA_DIR>/pglite` (default `.data/pglite` at the repository root).
 */

/** Adds `--database-url` and `--data-dir` to a command. */
export function withDatabase<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .addOption(
      new Option("--database-url <url>", "Postgres URL (unset: the embedded PGlite)").env("DATABASE_URL"),
    )
    .addOption(
      new Option("--data-dir <dir>", "data directory; PGlite lives in <dir>/pglite").env("OMNI_DATA_DIR"),
    );
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
}

/** Where the database is, for messages: the Postgres host and database (never the password), or the dir. */
export function describeDatabase(opts: DatabaseOptions): string {
  if (opts.databaseUrl) {
    try {
      const url = new URL(opts.databaseUrl);
      return `Postgres ${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return "Postgres (DATABASE_URL is not a valid URL)";
    }
  }
  return `PGlite ${pgliteDir(opts) ?? "(default .data/pglite)"}`;
}

function pgliteDir(opts: DatabaseOptions): string | undefined {
  return opts.dataDir ? resolve(opts.dataDir, "pglite") : undefined;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}

/** Opens the database and checks it answers; a failure says how to fix the connection. */
export async function openDatabase(opts: DatabaseOptions): Promise<DbHandle> {
  const where = describeDatabase(opts);
  if (opts.databaseUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
    throw new CliError(
      `DATABASE_URL must be a postgres:// URL (${where})`,
      "e.g. postgres://postgres@127.0.0.1:5432/omni, or unset it to use the embedded PGlite",
    );
  }
  let handle: DbHandle | undefined;
  try {
    handle = await withProgress(`connecting to ${where}`, async () => {
      const dir = pgliteDir(opts);
      const db = await createDb(opts.databaseUrl ? { url: opts.databaseUrl } : dir ? { dataDir: dir } : {});
      await migrationStatus(db.db).catch(async (error: unknown) => {
        await db.close().catch(() => {});
        throw error;
      });
      return db;
    });
    return handle;
  } catch (error) {
    throw new CliError(
      `cannot reach the database (${where}): ${errorText(error)}`,
      opts.databaseUrl
        ? "start Postgres (or fix DATABASE_URL / --database-url), then try again"
        : "check --data-dir / OMNI_DATA_DIR; PGlite allows one process at a time, so stop a gateway running on it",
    );
  }
}

/** Fails unless every committed migration is applied (operator commands need the current schema). */
export async function requireMigrated(handle: DbHandle, opts: DatabaseOptions): Promise<void> {
  const status = await migrationStatus(handle.db);
  if (status.pending.length > 0) {
    throw new CliError(
      `the database (${describeDatabase(opts)}) has ${status.pending.length} pending migration(s): ${status.pending.join(", ")}`,
      "run `omni db migrate` first (the gateway also migrates when it starts)",
    );
  }
}

/** Opens the database, runs `fn`, and closes it whatever happens. */
export async function usingDatabase<T>(
  opts: DatabaseOptions,
  fn: (handle: DbHandle) => Promise<T>,
): Promise<T> {
  const handle = await openDatabase(opts);
  try {
    return await fn(handle);
  } finally {
    await handle.close().catch(() => {});
  }
}
