import type { AuditEntryDto, AuditVerifyResult, OrgContext } from "@omni/contracts";
import {
  type ActorType,
  type AuditRow,
  createRepositories,
  type Database,
  type Repositories,
} from "@omni/db";
import { auditRowHash, chainedContent, diff, redact } from "./chain.ts";

export interface AuditActor {
  type: ActorType;
  /** User id, API key id, or `system`. */
  id: string;
}

export interface AuditRecordInput {
  orgId: string;
  actor: AuditActor;
  /** Dotted verb, e.g. `api_key.create`, `prompt.update`, `member.remove`, `tool.call`. */
  action: string;
  target?: { type: string; id: string } | null;
  /** The object before and after a write: only the changed top-level fields are stored. */
  before?: unknown;
  after?: unknown;
  metadata?: Record<string, unknown>;
}

export interface ToolCallAudit {
  org: Pick<OrgContext, "orgId" | "userId" | "via"> & { requestId?: string };
  /** The credential the caller authenticated with (API key id for keys). */
  credentialId?: string;
  tool: string;
  server?: string;
  durationMs: number;
  outcome: "ok" | "error" | "denied";
  error?: string;
  /** Recorded (redacted) only when the organization's settings say `auditArguments: true`. */
  arguments?: unknown;
}

export interface AuditListOptions {
  limit?: number;
  /** Only rows with a smaller sequence number (paging backwards). */
  before?: number;
  action?: string;
}

export interface AuditLog {
  /** Appends one row to the org's hash chain (serialised per org). */
  record(input: AuditRecordInput): Promise<AuditEntryDto>;
  /** Appends a `tool.call` row: who, tool, duration, outcome; arguments only when the org opted in. */
  recordToolCall(call: ToolCallAudit): Promise<AuditEntryDto>;
  list(orgId: string, opts?: AuditListOptions): Promise<AuditEntryDto[]>;
  verify(orgId: string): Promise<AuditVerifyResult>;
}

export interface AuditDeps {
  db: Database;
}

/** Who did it, from an authenticated context: the user, else the API key, else the system. */
export function auditActor(org: Pick<OrgContext, "userId" | "via">, credentialId?: string): AuditActor {
  if (org.via === "api_key" && credentialId) return { type: "api_key", id: credentialId };
  if (org.userId) return { type: "user", id: org.userId };
  return { type: "system", id: credentialId ?? "system" };
}

export function toAuditDto(row: AuditRow): AuditEntryDto {
  return { id: row.id, ...chainedContent(row), hash: row.hash };
}

/**
 * Walks an org's chain in sequence order and reports the first break: a missing sequence number (deleted
 * row), a `prev_hash` that is not the previous row's hash (deleted/reordered), or a row whose contents no
 * longer hash to its `hash` (edited). Callable from the CLI: `verifyAuditChain(db, orgId)`.
 */
export async function verifyAuditChain(
  db: Database | Repositories,
  orgId: string,
): Promise<AuditVerifyResult> {
  const repos = "audit" in db ? db : createRepositories(db);
  const pageSize = 1000;
  let expectedSeq = 1;
  let prevHash: string | null = null;
  let checked = 0;
  for (;;) {
    const rows = await repos.audit.list(orgId, { order: "asc", cursor: expectedSeq - 1, limit: pageSize });
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return { ok: false, checked, firstBadSeq: expectedSeq, reason: "seq_gap" };
      }
      if (row.prevHash !== prevHash) {
        return { ok: false, checked, firstBadSeq: row.seq, reason: "prev_hash_mismatch" };
      }
      if (auditRowHash(row) !== row.hash) {
        return { ok: false, checked, firstBadSeq: row.seq, reason: "hash_mismatch" };
      }
      checked++;
      prevHash = row.hash;
      expectedSeq++;
    }
    if (rows.length < pageSize) return { ok: true, checked, firstBadSeq: null, reason: null };
  }
}

export function createAuditLog(deps: AuditDeps): AuditLog {
  const repos = createRepositories(deps.db);
  const optIn = new Map<string, { value: boolean; at: number }>();

  async function auditArguments(orgId: string): Promise<boolean> {
    const cached = optIn.get(orgId);
    if (cached && Date.now() - cached.at < 10_000) return cached.value;
    const org = await repos.organizations.get(orgId);
    const value = org?.settings.auditArguments === true;
    if (optIn.size > 10_000) optIn.clear();
    optIn.set(orgId, { value, at: Date.now() });
    return value;
  }

  async function record(input: AuditRecordInput): Promise<AuditEntryDto> {
    // Diff the raw values (so a changed secret shows as changed), then redact what is stored.
    const raw =
      input.before === undefined && input.after === undefined
        ? { before: null, after: null, changed: [] as string[] }
        : diff(input.before ?? null, input.after ?? null);
    const changes = { before: redact(raw.before), after: redact(raw.after), changed: raw.changed };
    const metadata = redact({
      ...(input.metadata ?? {}),
      ...(changes.changed.length ? { changed: changes.changed } : {}),
    }) as Record<string, unknown>;
    const row = await repos.audit.append(input.orgId, (last, createdAt) => {
      const row = {
        seq: (last?.seq ?? 0) + 1,
        actor: input.actor.id,
        actorType: input.actor.type,
        action: input.action,
        targetType: input.target?.type ?? null,
        targetId: input.target?.id ?? null,
        before: changes.before ?? null,
        after: changes.after ?? null,
        metadata,
        createdAt,
        prevHash: last?.hash ?? null,
      };
      return { ...row, hash: auditRowHash({ ...row, organizationId: input.orgId }) };
    });
    return toAuditDto(row);
  }

  return {
    record,
    async recordToolCall(call) {
      const withArgs = call.arguments !== undefined && (await auditArguments(call.org.orgId));
      return record({
        orgId: call.org.orgId,
        actor: auditActor(call.org, call.credentialId),
        action: "tool.call",
        target: { type: "tool", id: call.tool },
        metadata: {
          tool: call.tool,
          ...(call.server ? { server: call.server } : {}),
          durationMs: Math.round(call.durationMs),
          outcome: call.outcome,
          ...(call.error ? { error: call.error.slice(0, 500) } : {}),
          ...(call.org.requestId ? { requestId: call.org.requestId } : {}),
          ...(withArgs ? { arguments: call.arguments } : {}),
        },
      });
    },
    async list(orgId, opts = {}) {
      const rows = await repos.audit.list(orgId, {
        limit: Math.min(Math.max(opts.limit ?? 50, 1), 500),
        ...(opts.before !== undefined ? { cursor: opts.before } : {}),
        ...(opts.action ? { action: opts.action } : {}),
      });
      return rows.map(toAuditDto);
    },
    verify: (orgId) => verifyAuditChain(repos, orgId),
  };
}
