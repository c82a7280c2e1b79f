import type { Logger } from "drizzle-orm";
import { withReplicas } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { Database } from "./client.ts";
import * as schema from "./schema/index.ts";

/**
 * Postgres read replicas behind Drizzle's `withReplicas`: `reader` sends `select`s (and relational
 * `query`) to a healthy replica and everything else (insert, update, delete, execute, transactions) to
 * the primary. Each replica is probed (`select 1`, bounded by `probeTimeoutMs`) every `checkMs`; one that
 * fails (down, refusing, or hanging) gets no reads until it answers again, and with no healthy replica
 * reads go to the primary. Writes never touch a replica, so a lagging or dead one cannot break them.
 */
export interface ReplicaSet {
  reader: Database;
  /** Each replica's URL (without password) and whether it takes reads now. */
  health(): { url: string; healthy: boolean }[];
  /** Probes every replica once now. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  /** Probe period in ms. Default 2000. */
  checkMs?: number;
  /** A probe not answered within this is a failure. Default 1000 ms. */
  probeTimeoutMs?: number;
  logger?: Logger | false;
}

interface Member {
  url: string;
  client: postgres.Sql;
  db: Database;
  healthy: boolean;
}

/** `postgres://user:secret@host/db` → `postgres://user@host/db` (for health reports and logs). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(unparsable url)";
  }
}

export async function createReplicaSet(
  primary: Database,
  urls: [string, ...string[]],
  opts: ReplicaOptions = {},
): Promise<ReplicaSet> {
  const timeoutMs = opts.probeTimeoutMs ?? 1000;
  const members: Member[] = urls.map((url) => {
    const client = postgres(url, {
      onnotice: () => {},
      max: 10,
      connect_timeout: Math.ceil(timeoutMs / 1000),
    });
    return {
      url: redact(url),
      client,
      db: drizzlePostgres(client, { schema, logger: opts.logger ?? false }),
      healthy: false,
    };
  });
  const probe = async (member: Member) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("probe timed out")), timeoutMs);
    });
    try {
      await Promise.race([member.client`select 1`, timeout]);
      member.healthy = true;
    } catch {
      member.healthy = false;
    } finally {
      clearTimeout(timer);
    }
  };
  const check = async () => {
    await Promise.all(members.map(probe));
  };
  await check();
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void check().finally(() => {
      checking = false;
    });
  }, opts.checkMs ?? 2000);
  timer.unref?.();
  let next = 0;
  const [first, ...rest] = members.map((m) => m.db) as [Database, ...Database[]];
  const reader: Database = withReplicas(primary, [first, ...rest], () => {
    const healthy = members.filter((m) => m.healthy);
    if (healthy.length === 0) return primary;
    next = (next + 1) % healthy.length;
    return healthy[next]!.db;
  });
  return {
    reader,
    health: () => members.map((m) => ({ url: m.url, healthy: m.healthy })),
    check,
    async close() {
      clearInterval(timer);
      await Promise.all(members.map((m) => m.client.end({ timeout: 5 })));
    },
  };
}
