import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The deployment secret that authenticates the gateway to domain servers (`OMNI_INTERNAL_TOKEN`): sent by
 * the gateway as `Authorization: Bearer <token>` on every RPC call, required by every domain server on
 * everything but `/health` and its standalone `/mcp`. In development (no `OMNI_INTERNAL_TOKEN`, `NODE_ENV`
 * not `production`) it is generated once into `<data dir>/internal.token` (`.data/` at the repository root
 * or `OMNI_DATA_DIR`), the file every process of the machine reads, like the development secret key.
 */

export class InternalTokenError extends Error {
  override readonly name = "InternalTokenError";
}

/** `.data/` at the repository root (where the development database and secret key live too). */
const repoDataDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", ".data");
const FILE = "internal.token";
const MIN_LENGTH = 16;

function checked(token: string, where: string): string {
  if (token.length < MIN_LENGTH) {
    throw new InternalTokenError(
      `${where} must be at least ${MIN_LENGTH} characters (generate one with \`openssl rand -base64 32\`)`,
    );
  }
  return token;
}

function readTokenFile(path: string): string | null {
  try {
    return checked(readFileSync(path, "utf8").trim(), path);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return null;
    throw error;
  }
}

/**
 * The internal RPC token: `OMNI_INTERNAL_TOKEN`; else, in production, an error saying what to set; else
 * the development token in `<dataDir>/internal.token`, made on first use (concurrent starters agree: the
 * file is linked into place atomically, so the first one wins and the others read it).
 */
export function loadInternalToken(
  env: Record<string, string | undefined> = process.env,
  options: { dataDir?: string } = {},
): string {
  const configured = env.OMNI_INTERNAL_TOKEN?.trim();
  if (configured) return checked(configured, "OMNI_INTERNAL_TOKEN");
  if (env.NODE_ENV === "production") {
    throw new InternalTokenError(
      "OMNI_INTERNAL_TOKEN is required in production: set the same random value (`openssl rand -base64 32`) on the gateway and on every domain server",
    );
  }
  const dir = options.dataDir ?? env.OMNI_DATA_DIR ?? repoDataDir;
  const path = join(dir, FILE);
  const existing = readTokenFile(path);
  if (existing) return existing;
  mkdirSync(dir, { recursive: true });
  const draft = join(dir, `.${FILE}.${process.pid}.${randomBytes(4).toString("hex")}`);
  writeFileSync(draft, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
  try {
    linkSync(draft, path);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
  } finally {
    unlinkSync(draft);
  }
  const made = readTokenFile(path);
  if (!made) throw new InternalTokenError(`could not create ${path}`);
  return made;
}

let processToken: string | undefined;

/** This process's token from its environment (`loadInternalToken()`, read once). */
export function deploymentToken(): string {
  processToken ??= loadInternalToken();
  return processToken;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * A checker of `Authorization` header values against `token`, in constant time: both sides are hashed
 * to equal-length SHA-256 digests and compared with `timingSafeEqual`, so neither the token's length nor
 * a matching prefix shows in the timing.
 */
export function internalTokenChecker(token: string): (authorization: string | null) => boolean {
  const expected = digest(`Bearer ${token}`);
  return (authorization) => timingSafeEqual(digest(authorization ?? ""), expected);
}
