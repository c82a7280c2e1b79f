import type { Redis } from "ioredis";
import { createLogger } from "../../security/log.ts";
import { isRecord, type Json } from "../protocol.ts";

/** Task states of the `io.modelcontextprotocol/tasks` extension (SEP-2663). */
export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

/** One task as stored: everything a replica needs to answer `tasks/get` or resume it after `tasks/update`. */
export interface TaskRecord {
  taskId: string;
  orgId: string;
  /** Who created it (`taskOwner`): only they see it; null (local/dev, no credential) is org-wide. */
  owner: string | null;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  /** The original `tools/call` params (name, arguments) and the client's declared capabilities. */
  call: { name: string; arguments: Json; clientCapabilities: Json };
  /** Answers gathered so far (input rounds); the tool re-runs from the top with all of them. */
  inputResponses: Json;
  /** Pending client requests while `input_required`, by key. */
  inputRequests?: Json;
  result?: Json;
  error?: { code: number; message: string; data?: unknown };
  /**
   * Its runs hold a lease (`TaskStore.lease`) that the running replica renews: a `working` task whose
   * lease lapsed lost its replica. Absent on tasks created before leases (never reaped).
   */
  leased?: boolean;
}

/** What replicas tell each other about tasks: a cancellation (abort the run) or a new status (notify). */
export type TaskEvent =
  | { kind: "cancel"; orgId: string; taskId: string }
  | { kind: "status"; orgId: string; owner: string | null; task: Json };

/**
 * Where tasks live: org-scoped (a task id of one org is not found for another), expiring after the task's
 * TTL. `update` is a read-modify-write that skips terminal tasks, so a late result never overwrites a
 * cancellation. `publish` tells every replica (Redis pub/sub), this one included: a cancellation, so the
 * one running the task aborts the upstream call; a status change, for `subscriptions/listen` streams.
 */
export interface TaskStore {
  create(task: TaskRecord): Promise<void>;
  get(orgId: string, taskId: string): Promise<TaskRecord | undefined>;
  /** Applies `change` unless the task is missing or terminal; returns the stored task (undefined: missing). */
  update(
    orgId: string,
    taskId: string,
    change: (task: TaskRecord) => TaskRecord | undefined,
  ): Promise<TaskRecord | undefined>;
  publish(event: TaskEvent): Promise<void>;
  onEvent(listener: (event: TaskEvent) => void): () => void;
  /** The replica running the task holds its lease for `ms` more (renewed while the run lasts). */
  lease(orgId: string, taskId: string, ms: number): Promise<void>;
  /** Whether some replica holds the task's lease now. */
  leased(orgId: string, taskId: string): Promise<boolean>;
  /** The run ended: its lease goes. */
  release(orgId: string, taskId: string): Promise<void>;
  close(): Promise<void>;
}

function apply(
  task: TaskRecord,
  change: (task: TaskRecord) => TaskRecord | undefined,
): TaskRecord | undefined {
  if (TERMINAL.has(task.status)) return undefined;
  const next = change(structuredClone(task));
  return next ? { ...next, lastUpdatedAt: new Date().toISOString() } : undefined;
}

/** SET KEYS[1] ARGV[2] (keeping its TTL) only while it still holds ARGV[1]: 1 when written, else 0. */
const COMPARE_AND_SET = `if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "KEEPTTL")
  return 1
end
return 0`;

/** A task event from the channel, or undefined when it is not one (another writer, a newer format). */
function parseEvent(message: string): TaskEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.orgId !== "string") return undefined;
  if (parsed.kind === "cancel" && typeof parsed.taskId === "string") {
    return { kind: "cancel", orgId: parsed.orgId, taskId: parsed.taskId };
  }
  if (parsed.kind === "status" && isRecord(parsed.task)) {
    const owner = typeof parsed.owner === "string" ? parsed.owner : null;
    return { kind: "status", orgId: parsed.orgId, owner, task: parsed.task };
  }
  return undefined;
}

/** One process (no Redis): a map with expiry. */
export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, { task: TaskRecord; expiresAt: number }>();
  /** Lease expiry (epoch ms) by task. */
  private readonly leases = new Map<string, number>();
  private readonly listeners = new Set<(event: TaskEvent) => void>();

  private key(orgId: string, taskId: string): string {
    return `${orgId}\u0000${taskId}`;
  }

  async create(task: TaskRecord): Promise<void> {
    this.sweep();
    this.tasks.set(this.key(task.orgId, task.taskId), {
      task: structuredClone(task),
      expiresAt: Date.now() + task.ttlMs,
    });
  }

  async get(orgId: string, taskId: string): Promise<TaskRecord | undefined> {
    const entry = this.tasks.get(this.key(orgId, taskId));
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    return structuredClone(entry.task);
  }

  async update(
    orgId: string,
    taskId: string,
    change: (task: TaskRecord) => TaskRecord | undefined,
  ): Promise<TaskRecord | undefined> {
    const entry = this.tasks.get(this.key(orgId, taskId));
    if (!entry || entry.expiresAt <= Date.now()) return undefined;
    const next = apply(entry.task, change);
    if (next) entry.task = next;
    return structuredClone(entry.task);
  }

  async publish(event: TaskEvent): Promise<void> {
    for (const listener of this.listeners) listener(structuredClone(event));
  }

  async lease(orgId: string, taskId: string, ms: number): Promise<void> {
    this.leases.set(this.key(orgId, taskId), Date.now() + ms);
  }

  async leased(orgId: string, taskId: string): Promise<boolean> {
    return (this.leases.get(this.key(orgId, taskId)) ?? 0) > Date.now();
  }

  async release(orgId: string, taskId: string): Promise<void> {
    this.leases.delete(this.key(orgId, taskId));
  }

  onEvent(listener: (event: TaskEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.tasks.clear();
    this.leases.clear();
    this.listeners.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.tasks) if (entry.expiresAt <= now) this.tasks.delete(key);
    for (const [key, until] of this.leases) if (until <= now) this.leases.delete(key);
  }
}

/**
 * Shared by every replica: one key per task (`<prefix>task:<org>:<id>`, expiring with the task's TTL),
 * updates as an optimistic compare-and-set (a Lua script, retried), events on the channel `<prefix>task-events`.
 */
export class RedisTaskStore implements TaskStore {
  private subscriber: Redis | undefined;
  private readonly listeners = new Set<(event: TaskEvent) => void>();

  constructor(
    private readonly redis: Redis,
    /** Key and channel prefix (the deployment's `REDIS_PREFIX`). */
    private readonly prefix = "omni:",
    private readonly onError: (error: unknown) => void = (error) =>
      createLogger().warn("[mcp/tasks] task event channel", error),
  ) {}

  private key(orgId: string, taskId: string): string {
    return `${this.prefix}task:${orgId}:${taskId}`;
  }

  private get channel(): string {
    return `${this.prefix}task-events`;
  }

  async create(task: TaskRecord): Promise<void> {
    await this.redis.set(this.key(task.orgId, task.taskId), JSON.stringify(task), "PX", task.ttlMs);
  }

  async get(orgId: string, taskId: string): Promise<TaskRecord | undefined> {
    const raw = await this.redis.get(this.key(orgId, taskId));
    return raw === null ? undefined : (JSON.parse(raw) as TaskRecord);
  }

  async update(
    orgId: string,
    taskId: string,
    change: (task: TaskRecord) => TaskRecord | undefined,
  ): Promise<TaskRecord | undefined> {
    const key = this.key(orgId, taskId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) return undefined;
      const task = JSON.parse(raw) as TaskRecord;
      const next = apply(task, change);
      if (!next) return task;
      // Compare-and-set on the whole value: written only if nobody changed the task since it was read.
      const written = await this.redis.eval(COMPARE_AND_SET, 1, key, raw, JSON.stringify(next));
      if (written === 1) return next;
    }
    throw new Error(`task ${taskId}: too many concurrent updates`);
  }

  async publish(event: TaskEvent): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(event));
  }

  /** `<prefix>task-lease:<org>:<id>`, expiring by itself: a replica that dies stops renewing it. */
  private leaseKey(orgId: string, taskId: string): string {
    return `${this.prefix}task-lease:${orgId}:${taskId}`;
  }

  async lease(orgId: string, taskId: string, ms: number): Promise<void> {
    await this.redis.set(this.leaseKey(orgId, taskId), "1", "PX", Math.max(1, Math.round(ms)));
  }

  async leased(orgId: string, taskId: string): Promise<boolean> {
    return (await this.redis.exists(this.leaseKey(orgId, taskId))) === 1;
  }

  async release(orgId: string, taskId: string): Promise<void> {
    await this.redis.del(this.leaseKey(orgId, taskId));
  }

  onEvent(listener: (event: TaskEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.subscriber) {
      const subscriber = this.redis.duplicate();
      this.subscriber = subscriber;
      // Outages: ioredis reconnects and resubscribes; the error is reported, never unhandled.
      subscriber.on("error", (error: Error) => this.onError(error));
      subscriber.subscribe(this.channel).catch((error: unknown) => this.onError(error));
      subscriber.on("message", (_channel: string, message: string) => {
        const event = parseEvent(message);
        if (event) for (const l of this.listeners) l(event);
      });
    }
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
