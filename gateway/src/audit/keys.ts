import { createHash, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { loadSecretKeys, parseSecretKey, type SecretKey } from "../config/secrets.ts";

/**
 * Keys of the audit chain's HMAC-SHA256, kept outside the database so that rewriting rows and recomputing
 * their hashes with database access alone is detected. `OMNI_AUDIT_KEY` (32 bytes, base64 or hex; a
 * comma-separated list: the first signs, all verify) when set; otherwise derived with HKDF-SHA256 from
 * every configured `OMNI_SECRET_KEY` / `OMNI_SECRET_KEY_PREVIOUS` (info `omni-audit-chain-v1`): the current
 * secret key signs, older ones still verify what they signed, so rotating the secret key keeps old rows
 * verifiable while the old key stays in `OMNI_SECRET_KEY_PREVIOUS`.
 */
export interface AuditKeys {
  /** Signs new rows and checkpoints. */
  current: SecretKey;
  byKid: ReadonlyMap<string, SecretKey>;
}

const kidOf = (key: Buffer) => createHash("sha256").update(key).digest("hex").slice(0, 16);

function keysFrom(list: Buffer[]): AuditKeys {
  const keys = list.map((key) => ({ kid: kidOf(key), key }));
  const current = keys[0];
  if (!current) throw new Error("no audit key");
  return { current, byKid: new Map(keys.map((k) => [k.kid, k])) };
}

/** The audit key derived from one secret key (HKDF-SHA256, salt `omni-audit`, info `omni-audit-chain-v1`). */
function derive(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "omni-audit", "omni-audit-chain-v1", 32));
}

/** Audit keys from raw key bytes (the first signs); tests and tools that hold their own keys use this. */
export function auditKeys(...keys: Buffer[]): AuditKeys {
  return keysFrom(keys);
}

/** Audit keys from the environment (see `AuditKeys`). Throws naming the variable when one is malformed. */
export function loadAuditKeys(env: Record<string, string | undefined>): AuditKeys {
  const explicit = (env.OMNI_AUDIT_KEY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((text) => {
      try {
        return parseSecretKey(text);
      } catch (error) {
        throw new Error(`OMNI_AUDIT_KEY: ${(error as Error).message}`);
      }
    });
  let derived: Buffer[] = [];
  try {
    // The config service warns about a development secret key already.
    derived = loadSecretKeys(env, { logger: { warn: () => {} } }).map((k) => derive(k.key));
  } catch (error) {
    if (explicit.length === 0) throw error;
  }
  return keysFrom([...explicit, ...derived]);
}

/** HMAC-SHA256 of `text` under `key`, lowercase hex. */
export function hmacHex(key: Buffer, text: string): string {
  return createHmac("sha256", key).update(text, "utf8").digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
