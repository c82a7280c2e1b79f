import { afterAll, beforeAll, expect, test } from "bun:test";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { createDb, createRepositories, type DbHandle, migrate } from "../src/index.ts";
import { organizations } from "../src/schema/index.ts";

/**
 * Read replicas for real: a throw-away Postgres primary and a streaming replica of it (initdb +
 * pg_basebackup -R), each a `postgres` process this test starts on a free loopback port, in a temporary directory removed at the end, stopped by PID.
 */

/** A loopback port nobody listens on now (the OS picks it; closed again before Postgres takes it). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}
const PRIMARY_PORT = freePort();
const REPLICA_PORT = freePort();
const pgRoot = "/usr/lib/postgresql";
const bin = existsSync(pgRoot)
  ? readdirSync(pgRoot)
      .map((version) => join(pgRoot, version, "bin"))
      .find((dir) => existsSync(join(dir, "initdb")))
  : undefined;
if (!bin) throw new Error(`no Postgres server binaries (initdb, pg_basebackup) under ${pgRoot}`);
const pgBin = bin;

// Postgres refuses to run as root: as root, run its binaries as the `postgres` OS user (setpriv execs,
// so the PID we hold is the server's own).
const asPostgres = (argv: string[]) =>
  process.getuid?.() === 0
    ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", ...argv]
    : argv;

const scratch = mkdtempSync(join(tmpdir(), "omni-replicas-"));
if (process.getuid?.() === 0) {
  const pgUid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim());
  const pgGid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim());
  chownSync(scratch, pgUid, pgGid);
}
const servers = new Map<string, Subprocess>();
const primaryUrl = `postgres://postgres@127.0.0.1:${PRIMARY_PORT}/postgres`;
const replicaUrl = `postgres://postgres@127.0.0.1:${REPLICA_PORT}/postgres`;
let handle: DbHandle;

function run(argv: string[]): void {
  const done = Bun.spawnSync(asPostgres(argv), { cwd: scratch, stdout: "pipe", stderr: "pipe" });
  if (done.exitCode !== 0) throw new Error(`${argv[0]} failed: ${done.stderr.toString()}`);
}

async function startServer(name: string, port: number): Promise<void> {
  const proc = Bun.spawn(
    asPostgres([
      join(pgBin, "postgres"),
      "-D",
      join(scratch, name),
      "-p",
      String(port),
      "-k",
      scratch,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
    ]),
    { cwd: scratch, stdout: "ignore", stderr: "pipe" },
  );
  servers.set(name, proc);
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${await new Response(proc.stderr).text()}`);
    const probe = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1, connect_timeout: 2 });
    try {
      await probe`select 1`;
      return true;
    } catch {
      return false;
    } finally {
      await probe.end({ timeout: 1 });
    }
  }, `${name} to accept connections`);
}

/** Fast shutdown of a server we started (SIGINT to its PID), waiting for it to exit. */
async function stopServer(name: string): Promise<void> {
  const proc = servers.get(name);
  if (!proc) return;
  servers.delete(name);
  if (proc.exitCode === null) proc.kill("SIGINT");
  await proc.exited;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Where a read through `db` ran: the server's port, and whether it is a standby. */
async function whereReads(db: DbHandle["db"]) {
  const [row] = await db
    .select({
      port: sql<number>`inet_server_port()`,
      standby: sql<boolean>`pg_is_in_recovery()`,
    })
    .from(organizations)
    .limit(1);
  return row;
}

const orgSeen = async (db: DbHandle["db"], id: string) =>
  (await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, id))).length ===
  1;

beforeAll(async () => {
  run([join(pgBin, "initdb"), "-D", join(scratch, "primary"), "-U", "postgres", "--auth=trust", "-N"]);
  await startServer("primary", PRIMARY_PORT);
  run([
    join(pgBin, "pg_basebackup"),
    "-h",
    "127.0.0.1",
    "-p",
    String(PRIMARY_PORT),
    "-U",
    "postgres",
    "-D",
    join(scratch, "replica"),
    "-R",
    "-X",
    "stream",
  ]);
  await startServer("replica", REPLICA_PORT);
  handle = await createDb({ url: primaryUrl, readUrls: [replicaUrl], replicaCheckMs: 100 });
  await migrate(handle.db);
  const first = await createRepositories(handle.db).organizations.create({ slug: "replica-a", name: "A" });
  // Until the replica has replayed the migrations, the table does not exist there.
  await until(
    () => orgSeen(handle.reader, first.id).catch(() => false),
    "the replica to replay the migrations",
  );
}, 120_000);

afterAll(async () => {
  await handle?.close();
  for (const name of [...servers.keys()]) await stopServer(name);
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

test("reads through the reader run on the streaming replica, writes through it on the primary", async () => {
  expect(handle.replicaHealth()).toEqual([{ url: replicaUrl, healthy: true }]);
  expect(await whereReads(handle.reader)).toEqual({ port: REPLICA_PORT, standby: true });
  expect(await whereReads(handle.db)).toEqual({ port: PRIMARY_PORT, standby: false });
  // A write through the reader lands on the primary (a standby would refuse it: read-only transaction).
  const [written] = await handle.reader
    .insert(organizations)
    .values({ slug: "replica-b", name: "B" })
    .returning({ id: organizations.id, port: sql<number>`inet_server_port()` });
  expect(written?.port).toBe(PRIMARY_PORT);
  // Repositories over the reader: reads on the replica see the write once it is replayed.
  await until(() => orgSeen(handle.reader, written!.id), "the replica to replay the insert");
  expect((await createRepositories(handle.reader).organizations.get(written!.id))?.slug).toBe("replica-b");
});

test("a lagging replica: writes go on, the primary has them at once, the reader catches up later", async () => {
  const admin = postgres(replicaUrl, { max: 1 });
  try {
    await admin`select pg_wal_replay_pause()`;
    const repos = createRepositories(handle.db);
    const org = await repos.organizations.create({ slug: "replica-lag", name: "Lag" });
    expect(await orgSeen(handle.db, org.id)).toBe(true);
    expect(await orgSeen(handle.reader, org.id)).toBe(false);
    await admin`select pg_wal_replay_resume()`;
    await until(() => orgSeen(handle.reader, org.id), "the replica to catch up");
  } finally {
    await admin`select pg_wal_replay_resume()`.catch(() => {});
    await admin.end({ timeout: 1 });
  }
});

test("a replica that is down takes no reads: they fall back to the primary, writes go on", async () => {
  await stopServer("replica");
  const org = await createRepositories(handle.db).organizations.create({
    slug: "replica-down",
    name: "Down",
  });
  await until(async () => handle.replicaHealth()[0]?.healthy === false, "the probe to mark the replica down");
  expect(await whereReads(handle.reader)).toEqual({ port: PRIMARY_PORT, standby: false });
  expect(await orgSeen(handle.reader, org.id)).toBe(true);
  // Back up: it catches up from the primary's WAL and takes reads again.
  await startServer("replica", REPLICA_PORT);
  await until(async () => handle.replicaHealth()[0]?.healthy === true, "the probe to see the replica again");
  await until(() => orgSeen(handle.reader, org.id), "the restarted replica to catch up");
  expect(await whereReads(handle.reader)).toEqual({ port: REPLICA_PORT, standby: true });
});
