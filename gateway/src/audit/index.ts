import type { AuditBreakReason, AuditEntryDto, AuditVerifyResult, OrgContext } from "@omni/contracts";
import {
  type ActorType,
  type AuditRow,
  type AuditRowBuilder,
  createRepositories,
  type Database,
  type Repositories,
} from "@omni/db";
import { auditWriteFailures } from "../observability/metrics.ts";
import { chainedContent, checkRowHash, diff, keyedRowHash, redact, storable, storableText } from "./chain.ts";
import { type CheckpointStore, checkpointValid, signCheckpoint } from "./checkpoint.ts";
import { type AuditKeys, loadAuditKeys } from "./keys.ts";

export { type CheckpointStore, fileCheckpoints, redisCheckpoints } from "./checkpoint.ts";
export { type AuditKeys, auditKeys, loadAuditKeys } from "./keys.ts";

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
  /** Resolves once every write started so far has finished: shutdown awaits it before closing the database. */
  drain(): Promise<void>;
}

export interface AuditDeps {
  db: Database;
  /** The chain's HMAC keys. Default: `loadAuditKeys({})` (derived from the development secret key); the gateway passes its `GatewayEnv.keys`. */
  keys?: AuditKeys;
  /** Signed chain heads outside the database (Redis or a file); without it truncation goes unnoticed. */
  checkpoints?: CheckpointStore;
  logger?: Pick<Console, "warn">;
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

/** Breaks listed in a verify result (all are counted in `totalBreaks`). */
const MAX_BREAKS = 1000;

/**
 * Walks an org's chain in sequence order and reports every broken link: a missing sequence number
 * (deleted rows), a `prev_hash` that is not the previous row's hash (deleted/reordered), a row whose
 * contents no longer match its keyed hash (edited, or re-hashed by someone without the key), and, against
 * the signed checkpoint kept outside the database, deleted newest rows. Plain SHA-256 rows from before
 * keyed chains are accepted only as the oldest rows (the first keyed row's HMAC covers their hashes).
 * Callable from the CLI: `verifyAuditChain(db, orgId, { keys, checkpoints })`.
 */
export async function verifyAuditChain(
  db: Database | Repositories,
  orgId: string,
  opts: { keys?: AuditKeys; checkpoints?: CheckpointStore } = {},
): Promise<AuditVerifyResult> {
  const repos = "audit" in db ? db : createRepositories(db);
  const keys = opts.keys ?? loadAuditKeys({});
  const checkpoint = (await opts.checkpoints?.get(orgId)) ?? null;
  const pageSize = 1000;
  const breaks: { seq: number; reason: AuditBreakReason }[] = [];
  let totalBreaks = 0;
  const broken = (seq: number, reason: AuditBreakReason) => {
    totalBreaks++;
    if (breaks.length < MAX_BREAKS) breaks.push({ seq, reason });
  };
  let expectedSeq = 1;
  let prevHash: string | null = null;
  let checked = 0;
  let legacyRows = 0;
  let keyedSeen = false;
  let lastSeq = 0;
  let hashAtCheckpoint: string | null = null;
  let cursor = 0;
  for (;;) {
    const rows = await repos.audit.list(orgId, { order: "asc", cursor, limit: pageSize });
    for (const row of rows) {
      checked++;
      if (row.seq !== expectedSeq) broken(Math.min(expectedSeq, row.seq), "seq_gap");
      else if (row.prevHash !== prevHash) broken(row.seq, "prev_hash_mismatch");
      const verdict = checkRowHash(keys, row);
      if (verdict === "legacy_ok") {
        if (keyedSeen) broken(row.seq, "unkeyed_hash");
        else legacyRows++;
      } else if (verdict === "mismatch") broken(row.seq, "hash_mismatch");
      else if (verdict === "unknown_key") broken(row.seq, "unknown_key");
      if (verdict !== "legacy_ok") keyedSeen = true;
      if (checkpoint && row.seq === checkpoint.seq) hashAtCheckpoint = row.hash;
      prevHash = row.hash;
      lastSeq = row.seq;
      expectedSeq = row.seq + 1;
      cursor = Math.max(cursor, row.seq);
    }
    if (rows.length < pageSize) break;
  }
  if (checkpoint) {
    if (!checkpointValid(keys, orgId, checkpoint)) broken(checkpoint.seq, "checkpoint_invalid");
    else if (lastSeq < checkpoint.seq) broken(lastSeq + 1, "truncated");
    else if (hashAtCheckpoint !== checkpoint.hash) broken(checkpoint.seq, "checkpoint_mismatch");
  }
  breaks.sort((a, b) => a.seq - b.seq);
  const first = breaks[0];
  return {
    ok: totalBreaks === 0,
    checked,
    firstBadSeq: first?.seq ?? null,
    reason: first?.reason ?? null,
    breaks,
    totalBreaks,
    checkpoint: checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : null,
    legacyRows,
  };
}

export function createAuditLog(deps: AuditDeps): AuditLog {
  const repos = createRepositories(deps.db);
  const keys = deps.keys ?? loadAuditKeys({});
  const checkpoints = deps.checkpoints;
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

  /** The builder of one input's row (what it stores is computed here, before the transaction). */
  function rowBuilder(input: AuditRecordInput): AuditRowBuilder {
    // Diff the raw values (so a changed secret shows as changed), then redact what is stored.
    const raw =
      input.before === undefined && input.after === undefined
        ? { before: null, after: null, changed: [] as string[] }
        : diff(input.before ?? null, input.after ?? null);
    const changes = { before: redact(raw.before), after: redact(raw.after), changed: raw.changed };
    // Stored as hashed: what Postgres cannot hold (NUL, lone surrogates) is replaced first, so a call with
    // such arguments is still audited, and the row verifies as read back.
    const metadata = storable(
      redact({
        ...(input.metadata ?? {}),
        ...(changes.changed.length ? { changed: changes.changed } : {}),
      }),
    ) as Record<string, unknown>;
    const text = (value: string | null | undefined) => (value == null ? null : storableText(value));
    return (last, createdAt) => {
      const row = {
        seq: (last?.seq ?? 0) + 1,
        actor: storableText(input.actor.id),
        actorType: input.actor.type,
        action: storableText(input.action),
        targetType: text(input.target?.type),
        targetId: text(input.target?.id),
        before: storable(changes.before) ?? null,
        after: storable(changes.after) ?? null,
        metadata,
        createdAt,
        prevHash: last?.hash ?? null,
      };
      return { ...row, hash: keyedRowHash(keys, { ...row, organizationId: input.orgId }) };
    };
  }

  /** Appends one org's rows in one transaction, then moves the signed head outside the database. */
  async function appendRows(orgId: string, inputs: AuditRecordInput[]): Promise<AuditEntryDto[]> {
    const rows = await repos.audit.appendMany(orgId, inputs.map(rowBuilder));
    const head = rows.at(-1);
    // After the commit: the signed head outside the database moves forward (never back).
    if (head) {
      await checkpoints
        ?.advance(orgId, signCheckpoint(keys, orgId, head.seq, head.hash))
        .catch((error: unknown) => {
          auditWriteFailures.inc({ kind: "checkpoint" });
          (deps.logger ?? console).warn(`[audit] checkpoint of org ${orgId} not stored: ${String(error)}`);
        });
    }
    return rows.map(toAuditDto);
  }

  interface Queued {
    input: AuditRecordInput;
    resolve: (entry: AuditEntryDto) => void;
    reject: (error: unknown) => void;
  }
  /** Per org: the rows waiting for the next transaction, and whether one is running. */
  const queues = new Map<string, { waiting: Queued[]; writing: boolean }>();

  /**
   * One row, batched: rows of the same org that arrive while its previous transaction runs (tool calls
   * under load) go into the next one together, so an org's audit costs one transaction per batch, not per
   * call. A batch that fails is retried row by row, so one bad row fails only its own record.
   */
  function record(input: AuditRecordInput): Promise<AuditEntryDto> {
    return new Promise((resolve, reject) => {
      let queue = queues.get(input.orgId);
      if (!queue) {
        queue = { waiting: [], writing: false };
        queues.set(input.orgId, queue);
      }
      queue.waiting.push({ input, resolve, reject });
      if (!queue.writing) void writeQueue(input.orgId, queue);
    });
  }

  async function writeQueue(orgId: string, queue: { waiting: Queued[]; writing: boolean }): Promise<void> {
    queue.writing = true;
    while (queue.waiting.length > 0) {
      const batch = queue.waiting.splice(0, 500);
      try {
        const entries = await appendRows(
          orgId,
          batch.map((q) => q.input),
        );
        for (const [i, q] of batch.entries()) q.resolve(entries[i]!);
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else {
          for (const q of batch) {
            await appendRows(orgId, [q.input]).then(([entry]) => q.resolve(entry!), q.reject);
          }
        }
      }
    }
    queue.writing = false;
    if (queues.get(orgId) === queue) queues.delete(orgId);
  }

  async function recordToolCall(call: ToolCallAudit): Promise<AuditEntryDto> {
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
  }

  // Writes still running (tool calls are audited after their answer is sent): `drain()` waits for them.
  const inFlight = new Set<Promise<unknown>>();
  function track<T>(write: Promise<T>): Promise<T> {
    inFlight.add(write);
    const done = () => inFlight.delete(write);
    write.then(done, done);
    return write;
  }

  return {
    record: (input) => track(record(input)),
    recordToolCall: (call) => track(recordToolCall(call)),
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async list(orgId, opts = {}) {
      const rows = await repos.audit.list(orgId, {
        limit: Math.min(Math.max(opts.limit ?? 50, 1), 500),
        ...(opts.before !== undefined ? { cursor: opts.before } : {}),
        ...(opts.action ? { action: opts.action } : {}),
      });
      return rows.map(toAuditDto);
    },
    verify: (orgId) => verifyAuditChain(repos, orgId, { keys, ...(checkpoints ? { checkpoints } : {}) }),
  };
}
