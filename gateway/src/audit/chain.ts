import { createHash } from "node:crypto";
import { type AuditKeys, hmacHex } from "./keys.ts";

/** The fields of an audit row that its hash covers (everything but the hash itself). */
export interface ChainedFields {
  organizationId: string;
  seq: number;
  actor: string;
  actorType: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  before: unknown;
  after: unknown;
  metadata: Record<string, unknown>;
  createdAt: Date;
  prevHash: string | null;
}

/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped, no whitespace. Stable
 * across a jsonb round trip (which reorders keys), so a row read back hashes the same as when written.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, item]) => `${JSON.stringify(k)}:${canonicalJson(item)}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return "null";
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value);
}

/**
 * A row's chained fields but its organization, as JSON values (absent `before`/`after` as null,
 * `createdAt` as ISO text): what the hash covers and what the API shows.
 */
export function chainedContent<Actor extends string>(
  row: Omit<ChainedFields, "organizationId" | "actorType"> & { actorType: Actor },
) {
  return {
    seq: row.seq,
    actor: row.actor,
    actorType: row.actorType,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    before: row.before ?? null,
    after: row.after ?? null,
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
    prevHash: row.prevHash,
  };
}

const rowText = (row: ChainedFields) =>
  canonicalJson({ organizationId: row.organizationId, ...chainedContent(row) });

/**
 * The legacy (unkeyed) row hash: sha256(canonical JSON of the row's fields, including `prevHash`), 64
 * lowercase hex digits. Rows written before keyed chains carry it; anyone can recompute it.
 */
export function auditRowHash(row: ChainedFields): string {
  return createHash("sha256").update(rowText(row)).digest("hex");
}

const KEYED = /^hmac-sha256:([0-9a-f]{16}):([0-9a-f]{64})$/;

/** A row's keyed hash: `hmac-sha256:<kid>:<hex>`, the HMAC-SHA256 of the same canonical JSON. */
export function keyedRowHash(keys: AuditKeys, row: ChainedFields): string {
  const { kid, key } = keys.current;
  return `hmac-sha256:${kid}:${hmacHex(key, rowText(row))}`;
}

/**
 * Checks a stored hash against the row: `ok`, `mismatch`, `unknown_key` (a keyed hash under a key that
 * is not configured) or `legacy_ok` (a plain SHA-256 that matches, which the caller accepts only for the
 * chain's oldest rows).
 */
export function checkRowHash(
  keys: AuditKeys,
  row: ChainedFields & { hash: string },
): "ok" | "mismatch" | "unknown_key" | "legacy_ok" {
  const keyed = KEYED.exec(row.hash);
  if (keyed) {
    const key = keys.byKid.get(keyed[1]!);
    if (!key) return "unknown_key";
    return hmacHex(key.key, rowText(row)) === keyed[2] ? "ok" : "mismatch";
  }
  return auditRowHash(row) === row.hash ? "legacy_ok" : "mismatch";
}

/**
 * What Postgres text and jsonb cannot hold: U+0000 becomes U+2400 SYMBOL FOR NULL, a lone surrogate
 * U+FFFD (jsonb rejects unpaired `\\ud800` escapes).
 */
const NUL = "\u0000";
const NUL_SYMBOL = "\u2400";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A text column's value without NUL characters or lone surrogates. */
export function storableText(text: string): string {
  const whole = text.replace(LONE_SURROGATE, "\uFFFD");
  return whole.includes(NUL) ? whole.replaceAll(NUL, NUL_SYMBOL) : whole;
}

/**
 * A value Postgres can store: NUL characters in strings and object keys replaced (text and jsonb reject
 * them, which would lose the row), at most 20 levels deep like `redact`.
 */
export function storable(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return storableText(value);
  if (depth > 20) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => storable(item, depth + 1));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value as Record<string, unknown>)) {
      out[storableText(k)] = storable(item, depth + 1);
    }
    return out;
  }
  return value;
}

const SECRET_KEY =
  /pass(word|phrase)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie|session|bearer|signature/i;
export const REDACTED = "[redacted]";

/** Replaces the values of secret-looking keys (password, token, apiKey, secret, ...) at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : redact(item, depth + 1);
    }
    return out;
  }
  return value;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);

/**
 * The changed part of a write: for two objects, only the top-level keys whose values differ (a key
 * missing on one side shows as absent there); otherwise the values themselves.
 */
export function diff(
  before: unknown,
  after: unknown,
): { before: unknown; after: unknown; changed: string[] } {
  if (!isRecord(before) || !isRecord(after)) return { before, after, changed: [] };
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (canonicalJson(before[key]) === canonicalJson(after[key])) continue;
    changed.push(key);
    if (key in before) b[key] = before[key];
    if (key in after) a[key] = after[key];
  }
  return { before: b, after: a, changed: changed.sort() };
}
