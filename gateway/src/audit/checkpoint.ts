import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import * as v from "valibot";
import { type AuditKeys, hmacHex, sameHex } from "./keys.ts";

/**
 * The latest chain head of each organization (`seq`, `hash`), HMAC-signed with the audit key and kept
 * OUTSIDE the database (Redis when configured, shared by every replica; else a file per org in the data
 * directory): an attacker with database access alone can delete the newest audit rows, but cannot move
 * this back, so `verify` reports the deletion (`truncated` / `checkpoint_mismatch`). A checkpoint table in
 * the same database would not do: its rows could be deleted or replayed along with the audit rows.
 * Checkpoints only move forward (a late writer with an older head never overwrites a newer one).
 */
export interface Checkpoint {
  seq: number;
  hash: string;
  kid: string;
  mac: string;
}

export interface CheckpointStore {
  get(orgId: string): Promise<Checkpoint | null>;
  /** Stores `checkpoint` unless the stored one is at least as new. */
  advance(orgId: string, checkpoint: Checkpoint): Promise<void>;
}

const CheckpointSchema = v.object({
  seq: v.number(),
  hash: v.string(),
  kid: v.string(),
  mac: v.string(),
});

const signed = (orgId: string, seq: number, hash: string) =>
  `omni-audit-checkpoint-v1\n${orgId}\n${seq}\n${hash}`;

/** A checkpoint of `orgId` at (`seq`, `hash`), signed with the current audit key. */
export function signCheckpoint(keys: AuditKeys, orgId: string, seq: number, hash: string): Checkpoint {
  const { kid, key } = keys.current;
  return { seq, hash, kid, mac: hmacHex(key, signed(orgId, seq, hash)) };
}

/** Whether a checkpoint's signature verifies under a configured audit key. */
export function checkpointValid(keys: AuditKeys, orgId: string, checkpoint: Checkpoint): boolean {
  const key = keys.byKid.get(checkpoint.kid);
  if (!key) return false;
  return sameHex(hmacHex(key.key, signed(orgId, checkpoint.seq, checkpoint.hash)), checkpoint.mac);
}

function parse(text: string | null): Checkpoint | null {
  if (!text) return null;
  try {
    const parsed = v.safeParse(CheckpointSchema, JSON.parse(text));
    // A malformed checkpoint is reported like a forged one (its signature cannot verify).
    return parsed.success ? parsed.output : { seq: 0, hash: "", kid: "", mac: "" };
  } catch {
    return { seq: 0, hash: "", kid: "", mac: "" };
  }
}

// Monotonic set: only a newer `seq` replaces the stored checkpoint (replicas may finish out of order).
const ADVANCE = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and tonumber(decoded.seq) and tonumber(decoded.seq) >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

/** Checkpoints in Redis under `<prefix>audit:head:<orgId>` (no expiry). */
export function redisCheckpoints(redis: Redis, prefix = "omni:"): CheckpointStore {
  const key = (orgId: string) => `${prefix}audit:head:${orgId}`;
  return {
    async get(orgId) {
      return parse(await redis.get(key(orgId)));
    },
    async advance(orgId, checkpoint) {
      await redis.eval(ADVANCE, 1, key(orgId), String(checkpoint.seq), JSON.stringify(checkpoint));
    },
  };
}

/** `.data/` at the repository root (where the development database and keys live too). */
const repoDataDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", ".data");

/**
 * Checkpoints as one file per org in `<dataDir>/audit-checkpoints/` (default `.data/`; the gateway passes `OMNI_DATA_DIR`):
 * for one replica without Redis. Writes go through a temporary file and a rename, so a reader never sees
 * half a checkpoint.
 */
export function fileCheckpoints(dataDir = repoDataDir): CheckpointStore {
  const dir = join(dataDir, "audit-checkpoints");
  const pathOf = (orgId: string) =>
    join(
      dir,
      /^[A-Za-z0-9_-]{1,100}$/.test(orgId)
        ? `${orgId}.json`
        : `${createHash("sha256").update(orgId).digest("hex")}.json`,
    );
  const read = (orgId: string): Checkpoint | null => {
    try {
      return parse(readFileSync(pathOf(orgId), "utf8"));
    } catch (error) {
      if (error instanceof Error && "code" in error && error.code === "ENOENT") return null;
      throw error;
    }
  };
  return {
    async get(orgId) {
      return read(orgId);
    },
    async advance(orgId, checkpoint) {
      const current = read(orgId);
      if (current && current.seq >= checkpoint.seq) return;
      mkdirSync(dir, { recursive: true });
      const path = pathOf(orgId);
      const draft = `${path}.${process.pid}.tmp`;
      writeFileSync(draft, JSON.stringify(checkpoint), { mode: 0o600 });
      renameSync(draft, path);
    },
  };
}
