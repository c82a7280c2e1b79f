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
 * Other deployment tokens (the gateway's operator token, `OMNI_OPERATOR_TOKEN`) load the same way
 * (`loadDeploymentToken`).
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

/** A deployment secret read from the environment, or in development from a file of the data directory. */
export interface DeploymentTokenSpec {
  /** The environment variable that sets it, e.g. `OMNI_INTERNAL_TOKEN`. */
  variable: string;
  /** Its development file in the data directory, e.g. `internal.token`. */
  file: string;
  /**
   * In production without `variable`: the error message (the token is required), or null when the
   * feature it opens is simply off then (`loadDeploymentToken` returns null).
   */
  requiredInProduction: string | null;
}

/**
 * A deployment token: `spec.variable`; else, in production, an error saying what to set (or null when
 * the token is optional); else the development token in `<dataDir>/<spec.file>`, made on first use
 * (concurrent starters agree: the file is linked into place atomically, so the first one wins and the
 * others read it).
 */
export function loadDeploymentToken(
  spec: DeploymentTokenSpec,
  env: Record<string, string | undefined> = process.env,
  /** `create: false` only reads an existing development file (e.g. a client looking for the token). */
  options: { dataDir?: string; create?: boolean } = {},
): string | null {
  const configured = env[spec.variable]?.trim();
  if (configured) return checked(configured, spec.variable);
  if (env.NODE_ENV === "production") {
    if (spec.requiredInProduction === null) return null;
    throw new InternalTokenError(spec.requiredInProduction);
  }
  const dir = options.dataDir ?? env.OMNI_DATA_DIR ?? repoDataDir;
  const path = join(dir, spec.file);
  const existing = readTokenFile(path);
  if (existing || options.create === false) return existing;
  mkdirSync(dir, { recursive: true });
  const draft = join(dir, `.${spec.file}.${process.pid}.${randomBytes(4).toString("hex")}`);
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

const INTERNAL: DeploymentTokenSpec = {
  variable: "OMNI_INTERNAL_TOKEN",
  file: FILE,
  requiredInProduction:
    "OMNI_INTERNAL_TOKEN is required in production: set the same random value (`openssl rand -base64 32`) on the gateway and on every domain server",
};

/** The internal RPC token: `OMNI_INTERNAL_TOKEN`, else (not in production) `<dataDir>/internal.token`. */
export function loadInternalToken(
  env: Record<string, string | undefined> = process.env,
  options: { dataDir?: string } = {},
): string {
  const token = loadDeploymentToken(INTERNAL, env, options);
  if (token === null)
    throw new InternalTokenError(INTERNAL.requiredInProduction ?? "OMNI_INTERNAL_TOKEN is unset");
  return token;
}

let processToken: string | undefined;

/** This process's token from its environment (`loadInternalToken()`, read once). */
export function deploymentToken(): string {
  processToken ??= loadInternalToken();
  return processToken;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * A checker of `Authorization` header values against `token` (any deployment token sent as a bearer), in constant time: both sides are hashed
 * to equal-length SHA-256 digests and compared with `timingSafeEqual`, so neither the token's length nor
 * a matching prefix shows in the timing.
 */
export function internalTokenChecker(token: string): (authorization: string | null) => boolean {
  const expected = digest(`Bearer ${token}`);
  return (authorization) => timingSafeEqual(digest(authorization ?? ""), expected);
}
