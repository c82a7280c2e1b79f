import { createHash } from "node:crypto";

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

/** sha256(canonical JSON of the row's fields, including `prevHash`), lowercase hex. */
export function auditRowHash(row: ChainedFields): string {
  return createHash("sha256")
    .update(canonicalJson({ organizationId: row.organizationId, ...chainedContent(row) }))
    .digest("hex");
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
