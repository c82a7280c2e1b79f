import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { createReplicaSet } from "./replicas.ts";
import * as schema from "./schema/index.ts";

/** The database handle every repository takes: the same type for both drivers (and for transactions). */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Driver = "postgres" | "pglite";

export interface DbHandle {
  /** The primary: every write, and every read that must see the latest write. */
  db: Database;
  /**
   * For reads that may lag behind the primary by the replication delay (dashboards, reports): with
   * `readUrls`, Drizzle's `withReplicas` (selects on a healthy read replica, writes still on the primary,
   * see replicas.ts); else the primary itself.
   */
  reader: Database;
  /** The read replicas and whether each takes reads now (empty without `readUrls`). */
  replicaHealth(): { url: string; healthy: boolean }[];
  driver: Driver;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** A `postgres://` URL; PGlite when unset. Entry points pass `DATABASE_URL` (`dbOptionsFromEnv`). */
  url?: string;
  /** PGlite data directory (`memory://` for an in-memory database). Default: `<repo>/.data/pglite`. */
  dataDir?: string;
  /** Called with the SQL of every query (e.g. to count database hits). */
  onQuery?: (sql: string) => void;
  /** Postgres read replicas (with `url`): `DbHandle.reader` reads from them. */
  readUrls?: string[];
  /** How often each read replica is probed (ms; default 2000): a failing one gets no reads. */
  replicaCheckMs?: number;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const migrationsFolder = join(packageRoot, "migrations");
/** Default PGlite directory: `.data/pglite` at the repository root (the workspace root above db/). */
const defaultDataDir = () => resolve(packageRoot, "..", ".data", "pglite");

/**
 * `createDb` options from an environment (entry points call it with `process.env`, once): `DATABASE_URL`,
 * else PGlite in `<OMNI_DATA_DIR>/pglite` (default `.data/pglite`).
 */
export function dbOptionsFromEnv(env: Record<string, string | undefined>): CreateDbOptions {
  const url = env.DATABASE_URL?.trim();
  const dataDir = env.OMNI_DATA_DIR?.trim();
  return url ? { url } : dataDir ? { dataDir: resolve(dataDir, "pglite") } : {};
}

const drivers = new WeakMap<object, Driver>();
/** The postgres-js client behind a Postgres database (for the migration lock). */
const postgresClients = new WeakMap<object, postgres.Sql>();
/** Advisory lock key held while migrating, so replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 7_301_845_112;

/** Opens the database: real Postgres when a URL is given, else PGlite. */
export async function createDb(opts: CreateDbOptions = {}): Promise<DbHandle> {
  const url = opts.url;
  const logger = opts.onQuery ? { logQuery: (query: string) => opts.onQuery?.(query) } : false;
  if (url) {
    const client = postgres(url, { onnotice: () => {}, max: 10 });
    const db = drizzlePostgres(client, { schema, logger });
    drivers.set(db, "postgres");
    postgresClients.set(db, client);
    const [first, ...rest] = opts.readUrls ?? [];
    const replicas =
      first === undefined
        ? undefined
        : await createReplicaSet(db, [first, ...rest], {
            logger,
            ...(opts.replicaCheckMs === undefined ? {} : { checkMs: opts.replicaCheckMs }),
          });
    return {
      db,
      reader: replicas?.reader ?? db,
      replicaHealth: () => replicas?.health() ?? [],
      driver: "postgres",
      close: async () => {
        await replicas?.close();
        await client.end({ timeout: 5 });
      },
    };
  }
  if (opts.readUrls?.length) throw new Error("read replicas need a Postgres primary (DATABASE_URL)");
  const dataDir = opts.dataDir ?? defaultDataDir();
  const onDisk = !dataDir.startsWith("memory://");
  if (onDisk) mkdirSync(dataDir, { recursive: true });
  const unlock = onDisk ? lockPglite(dataDir) : () => {};
  const client = await PGlite.create(dataDir).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const db = drizzlePglite(client, { schema, logger });
  drivers.set(db, "pglite");
  return {
    db,
    reader: db,
    replicaHealth: () => [],
    driver: "pglite",
    close: async () => {
      if (!client.closed) await client.close();
      unlock();
    },
  };
}

/** A second process opening a PGlite directory would not see the first one's writes, and could corrupt it. */
export class PgliteInUseError extends Error {
  override readonly name = "PgliteInUseError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the PGlite database in ${dataDir} is in use by process ${pid} (PGlite allows one process at a time): ` +
        "stop that process (e.g. the gateway), or use Postgres (DATABASE_URL) to share the database",
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Takes `<dataDir>.lock` for this process (its pid), refusing when another live process holds it; a lock
 * left by a process that died is taken over. Returns the release.
 */
function lockPglite(dataDir: string): () => void {
  const lockFile = `${dataDir.replace(/\/+$/, "")}.lock`;
  const owner = existsSync(lockFile) ? Number(readFileSync(lockFile, "utf8").trim()) : 0;
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new PgliteInUseError(dataDir, owner);
  }
  writeFileSync(lockFile, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(lockFile, "utf8").trim()) === process.pid) unlinkSync(lockFile);
    } catch {
      // Already gone.
    }
  };
}

/**
 * Applies the committed migrations with the driver's migrator, then makes sure the audit log has
 * partitions for the current and the next month. Idempotent; run at start-up and by `bun run db:migrate`.
 */
export async function migrate(db: Database): Promise<void> {
  const driver = drivers.get(db);
  const client = postgresClients.get(db);
  if (driver === "postgres" && client) {
    const lock = await client.reserve();
    try {
      await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
      await migratePostgres(db as Parameters<typeof migratePostgres>[0], { migrationsFolder });
    } finally {
      await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
      lock.release();
    }
  } else if (driver === "pglite") {
    await migratePglite(db as Parameters<typeof migratePglite>[0], { migrationsFolder });
  } else {
    throw new Error("migrate() takes a database made by createDb()");
  }
  await db.execute(sql`select omni_ensure_audit_partition(now())`);
  await db.execute(sql`select omni_ensure_audit_partition(now() + interval '1 month')`);
}

export interface MigrationStatus {
  /** Committed migrations (db/migrations), oldest first. */
  committed: string[];
  /** Those not applied to this database yet (all of them on an empty database). */
  pending: string[];
}

/** Which committed migrations this database has applied (read from drizzle's own bookkeeping table). */
export async function migrationStatus(db: Database): Promise<MigrationStatus> {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
    entries: { tag: string; when: number }[];
  };
  const [table] = rowsOf<{ present: boolean }>(
    await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`),
  );
  let last = 0;
  if (table?.present) {
    const [row] = rowsOf<{ last: string | number | null }>(
      await db.execute(sql`select max(created_at) as last from drizzle.__drizzle_migrations`),
    );
    last = Number(row?.last ?? 0);
  }
  return {
    committed: journal.entries.map((e) => e.tag),
    pending: journal.entries.filter((e) => e.when > last).map((e) => e.tag),
  };
}

/** The rows of a raw `db.execute`: postgres-js returns them as the result, PGlite under `rows`. */
function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as T[]) : [];
}
