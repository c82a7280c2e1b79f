import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { ErrorCode } from "@omni/contracts";
import * as v from "valibot";
import { readDevSecretKey } from "../../config/secrets.ts";
import { RpcError } from "../protocol.ts";

/**
 * `requestState` of 2026-07-28 multi-round-trip requests, sealed so that any gateway replica holding the
 * same key can resume a request another one started, and no client can read or forge it.
 *
 * Token: `v1.` + base64url(iv[12] ‖ AES-256-GCM ciphertext ‖ tag[16]), the version string as additional
 * data. The plaintext binds the org, the user, the request target (`tools/call:<name>`), a SHA-256 of the
 * canonical arguments, the answers collected in earlier rounds and an expiry; nothing is in clear.
 */

const VERSION = "v1";
const AAD = Buffer.from("omni-mcp/requestState/v1");
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Default lifetime of a requestState. */
const DEFAULT_TTL_MS = 15 * 60_000;
/** Upper bound of a sealed state (the accumulated answers travel in it). */
const MAX_TOKEN_CHARS = 256 * 1024;

/** What a sealed state is bound to: checked on every retry. */
export interface StateBinding {
  orgId: string;
  userId: string | null;
  /** The request target, e.g. `tools/call:linear_create_issue` or `prompts/get:triage`. */
  target: string;
  arguments: unknown;
}

const Payload = v.object({
  o: v.string(),
  u: v.nullable(v.string()),
  t: v.string(),
  h: v.string(),
  r: v.record(v.string(), v.unknown()),
  e: v.number(),
});

/**
 * AES-256-GCM of `text` under `key` with `aad` as additional data: base64url(iv[12] ‖ ciphertext ‖ tag[16]).
 * The one sealing primitive of the gateway (requestState here, 2025 session ids in `mcp/session-seal.ts`).
 */
export function sealText(key: Buffer, aad: Buffer, text: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
}

/** Opens `sealText`'s output: the text, `"truncated"` when too short to be one, null when forged or sealed under another key. */
export function openText(key: Buffer, aad: Buffer, encoded: string): string | null {
  const raw = Buffer.from(encoded, "base64url");
  if (raw.length < IV_BYTES + TAG_BYTES + 2) return "truncated";
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    return null;
  }
}

/** Canonical JSON (object keys sorted) so equal arguments hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function argumentsHash(args: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(args ?? {}))
    .digest("base64url");
}

/**
 * The 32-byte state key: `OMNI_STATE_KEY` (base64 or hex of 32 bytes), else HKDF-SHA256 of
 * `OMNI_SECRET_KEY`. Throws when neither is usable.
 */
export function stateKeyFromEnv(env: Record<string, string | undefined>): Buffer {
  const explicit = env.OMNI_STATE_KEY?.trim();
  if (explicit) {
    const bytes = /^[0-9a-fA-F]{64}$/.test(explicit)
      ? Buffer.from(explicit, "hex")
      : Buffer.from(explicit, "base64");
    if (bytes.length !== 32) throw new Error("OMNI_STATE_KEY must be 32 bytes, as 64 hex digits or base64");
    return bytes;
  }
  const secret = env.OMNI_SECRET_KEY?.trim();
  if (!secret) throw new Error("Set OMNI_STATE_KEY (or OMNI_SECRET_KEY) to seal 2026-07-28 requestState");
  return Buffer.from(hkdfSync("sha256", secret, "omni-mcp", "omni-mcp/requestState/v1", 32));
}

function invalidState(message: string): RpcError {
  return new RpcError(ErrorCode.InvalidParams, `Invalid requestState: ${message}`, {
    field: "params.requestState",
  });
}

export class StateSealer {
  private readonly key: Buffer;
  constructor(
    key: Buffer,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    if (key.length !== 32) throw new Error("The requestState key must be 32 bytes");
    this.key = key;
  }

  /** Seals the answers collected so far for a request bound to `binding`. */
  seal(binding: StateBinding, responses: Record<string, unknown>): string {
    const payload: v.InferOutput<typeof Payload> = {
      o: binding.orgId,
      u: binding.userId,
      t: binding.target,
      h: argumentsHash(binding.arguments),
      r: responses,
      e: this.now() + this.ttlMs,
    };
    const token = `${VERSION}.${sealText(this.key, AAD, JSON.stringify(payload))}`;
    if (token.length > MAX_TOKEN_CHARS) {
      throw invalidState(`the accumulated inputResponses exceed ${MAX_TOKEN_CHARS} characters`);
    }
    return token;
  }

  /**
   * Opens a state and checks it against this request; returns the earlier answers. Every failure is a
   * -32602 error that says what to do.
   */
  open(token: unknown, binding: StateBinding): Record<string, unknown> {
    if (typeof token !== "string") throw invalidState("params.requestState must be a string");
    if (token.length > MAX_TOKEN_CHARS) throw invalidState("too long");
    const dot = token.indexOf(".");
    if (dot < 0 || token.slice(0, dot) !== VERSION) {
      throw invalidState("not a requestState issued by this gateway; retry the request without it");
    }
    const encoded = token.slice(dot + 1);
    if (!/^[A-Za-z0-9_-]+$/.test(encoded))
      throw invalidState("integrity check failed (the state was modified)");
    const plain = openText(this.key, AAD, encoded);
    if (plain === "truncated") throw invalidState("integrity check failed (truncated)");
    if (plain === null) {
      throw invalidState(
        "integrity check failed (the state was modified, or sealed under another key); retry the request without it",
      );
    }
    const parsed = v.safeParse(Payload, JSON.parse(plain));
    if (!parsed.success) throw invalidState("unreadable state; retry the request without it");
    const state = parsed.output;
    if (state.o !== binding.orgId || state.u !== binding.userId) {
      throw invalidState("it was issued to another organization or user");
    }
    if (state.t !== binding.target) {
      throw invalidState(`it was issued for ${state.t}, not ${binding.target}`);
    }
    if (state.h !== argumentsHash(binding.arguments)) {
      throw invalidState("it was issued for different arguments; send the same arguments on every retry");
    }
    if (state.e <= this.now()) throw invalidState("it has expired; start the request again without it");
    return state.r;
  }
}

/**
 * The deployment's sealing key from its key material (`GatewayEnv.keys`) (2026-07-28 requestState and 2025 session ids). Without
 * `OMNI_STATE_KEY`/`OMNI_SECRET_KEY` it is derived from the development secret key file when there is one
 * (outside production); else a random per-process key is used (with a warning): one replica works, but
 * replicas cannot resume each other's requests or serve each other's sessions.
 */
export function deploymentKey(
  env: Record<string, string | undefined>,
  logger: Pick<Console, "warn">,
): Buffer {
  if (env.OMNI_STATE_KEY?.trim() || env.OMNI_SECRET_KEY?.trim()) return stateKeyFromEnv(env);
  // Development: derive it from the development secret key file, shared by every process on this data dir.
  const devKey = readDevSecretKey(env);
  if (devKey) return stateKeyFromEnv({ OMNI_SECRET_KEY: devKey });
  logger.warn(
    "[mcp] OMNI_STATE_KEY (or OMNI_SECRET_KEY) is not set: sealing requestState and session ids with a per-process key, so another replica cannot resume a 2026-07-28 input_required request or serve a 2025 session",
  );
  return randomBytes(32);
}
