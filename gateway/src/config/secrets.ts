import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SecretEnvelope } from "@omni/db";

/**
 * Secrets at rest: AES-256-GCM, one envelope per secret `{ kid, iv, ct, tag }` (base64), with
 * additional authenticated data binding the ciphertext to its organization, server, secret name (and
 * member, for personal credentials): an envelope copied to another row fails to decrypt.
 *
 * Keys: `OMNI_SECRET_KEY` (32 bytes, base64 or hex; a comma-separated list is accepted, the first is
 * current) and `OMNI_SECRET_KEY_PREVIOUS` (comma-separated, read-only). `kid` is derived from the key
 * (first 8 bytes of its SHA-256, hex), so envelopes name the key that sealed them.
 */

export interface SecretKey {
  kid: string;
  key: Buffer;
}

/** Where a secret belongs: the AAD it is sealed to. */
export interface SecretScope {
  orgId: string;
  server: string;
  name: string;
  /** Set for a member's own credential. */
  userId?: string | null;
}

export class SecretError extends Error {}

function aad(scope: SecretScope): Buffer {
  const parts = ["omni-secret-v1", scope.orgId, scope.server, scope.userId ?? "", scope.name];
  return Buffer.from(JSON.stringify(parts), "utf8");
}

/** Parses a 32-byte key given as base64 (standard or url-safe) or 64 hex digits. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, "hex")
    : Buffer.from(trimmed, "base64");
  if (key.length !== 32) {
    throw new SecretError(
      "a secret key must be 32 bytes, given as base64 or 64 hex digits (generate one with `openssl rand -base64 32`)",
    );
  }
  return key;
}

export function secretKey(key: Buffer): SecretKey {
  return { kid: createHash("sha256").update(key).digest("hex").slice(0, 16), key };
}

export class SecretBox {
  readonly current: SecretKey;
  private readonly byKid: Map<string, SecretKey>;

  /** `keys[0]` encrypts; every key decrypts. */
  constructor(keys: SecretKey[]) {
    if (keys.length === 0) throw new SecretError("no secret key configured");
    this.current = keys[0]!;
    this.byKid = new Map(keys.map((k) => [k.kid, k]));
  }

  encrypt(plaintext: string, scope: SecretScope): SecretEnvelope {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(aad(scope));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return {
      kid: this.current.kid,
      iv: iv.toString("base64"),
      ct: ct.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
  }

  decrypt(envelope: SecretEnvelope, scope: SecretScope): string {
    const key = this.byKid.get(envelope.kid);
    if (!key) {
      throw new SecretError(
        `secret "${scope.name}" of ${scope.server} was encrypted with key ${envelope.kid}, which is not configured (set it in OMNI_SECRET_KEY_PREVIOUS)`,
      );
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", key.key, Buffer.from(envelope.iv, "base64"));
      decipher.setAAD(aad(scope));
      decipher.setAuthTag(Buffer.from(envelope.tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(envelope.ct, "base64")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new SecretError(
        `secret "${scope.name}" of ${scope.server} failed authentication (tampered, or copied from another organization)`,
      );
    }
  }

  /** Whether an envelope is sealed with the current key (else `secrets:rotate` re-encrypts it). */
  isCurrent(envelope: SecretEnvelope): boolean {
    return envelope.kid === this.current.kid;
  }
}

/** `.data/` at the repository root (where the development database lives too). */
const repoDataDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", ".data");

interface KeyLogger {
  warn(message: string): void;
}

const isOn = (flag: string | undefined) => flag === "1" || flag === "true";

/** Where the development secret key lives: `<dataDir | OMNI_DATA_DIR | repo .data>/secret.key`. */
function devSecretKeyPath(env: Record<string, string | undefined>, dataDir?: string): string {
  return join(dataDir ?? (env.OMNI_DATA_DIR?.trim() || repoDataDir), "secret.key");
}

/**
 * The development key file's text when there is one and this is not production (so other keys, such as
 * the 2026-07-28 requestState key, can be derived from it instead of being per-process); else null.
 */
export function readDevSecretKey(env: Record<string, string | undefined>): string | null {
  if (env.NODE_ENV === "production") return null;
  const path = devSecretKeyPath(env);
  return existsSync(path) ? readFileSync(path, "utf8").trim() || null : null;
}

function splitKeys(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Keys from the environment. Without `OMNI_SECRET_KEY`: in production an error; in development a key
 * generated once and kept in `<dataDir>/secret.key` (default: `.data/` at the repository root, or
 * `OMNI_DATA_DIR`), with a loud warning.
 */
export function loadSecretKeys(
  env: Record<string, string | undefined>,
  options: { dataDir?: string; logger?: KeyLogger } = {},
): SecretKey[] {
  const current = splitKeys(env.OMNI_SECRET_KEY);
  const previous = splitKeys(env.OMNI_SECRET_KEY_PREVIOUS);
  const keys = [...current, ...previous].map((k, i) => {
    try {
      return secretKey(parseSecretKey(k));
    } catch (error) {
      const name = i < current.length ? "OMNI_SECRET_KEY" : "OMNI_SECRET_KEY_PREVIOUS";
      throw new SecretError(`${name}: ${(error as Error).message}`);
    }
  });
  if (current.length > 0) return keys;
  if (env.NODE_ENV === "production") {
    throw new SecretError("OMNI_SECRET_KEY is required in production (32 bytes, base64 or hex)");
  }
  const path = devSecretKeyPath(env, options.dataDir);
  let devKey: Buffer;
  const created = !existsSync(path);
  if (created) {
    devKey = randomBytes(32);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${devKey.toString("base64")}\n`, { mode: 0o600 });
  } else {
    devKey = parseSecretKey(readFileSync(path, "utf8"));
  }
  // Local development mode reuses the file quietly; a new key, or one outside dev mode, deserves a word.
  if (created || !isOn(env.OMNI_DEV_MODE)) {
    (options.logger ?? console).warn(
      `!!! OMNI_SECRET_KEY is not set: using the development key in ${path}${created ? " (just generated)" : ""}. ` +
        "Secrets encrypted with it are lost if that file is. Set OMNI_SECRET_KEY (openssl rand -base64 32) before storing real credentials. !!!",
    );
  }
  return [secretKey(devKey), ...keys];
}
