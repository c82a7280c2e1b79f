import {
  type ClientCapabilities,
  ErrorCode,
  type TaskIdParams,
  type TasksUpdateParams,
  type ToolsCallParams,
} from "@omni/contracts";
import { tasksAbandoned } from "../../observability/metrics.ts";
import type { Caller } from "../../ports.ts";
import type { Registry } from "../../registry/index.ts";
import type { CallContext } from "../core/context.ts";
import type { Dispatcher } from "../dispatcher.ts";
import { isRecord, type Json, RpcError } from "../protocol.ts";
import { type TaskEvent, type TaskRecord, type TaskStore, TERMINAL } from "./store.ts";

/** The status message of a task whose replica died. */
const ABANDONED = "The gateway replica running this task stopped";

/** One run of a task on this replica. */
interface Run {
  controller: AbortController;
  orgId: string;
  taskId: string;
}

/** The extension id, under `capabilities.extensions` (server) and `clientCapabilities.extensions` (client). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** Who asks, and what their request declared: the fields of a call context the tasks read. */
type TaskCaller = Pick<CallContext, "caller" | "clientCapabilities">;

export interface TaskServiceOptions {
  dispatcher: Dispatcher;
  registry: Registry;
  store: TaskStore;
  /** How long a task is kept after creation. Default 1 hour. */
  ttlMs?: number;
  /** Suggested `tasks/get` polling period. Default 1 s. */
  pollIntervalMs?: number;
  /**
   * How long a run's lease lasts without renewal (`TASK_LEASE_MS`); the running replica renews it every
   * third of that. A `working` task whose lease lapsed (its replica died) is failed when next read, by
   * any replica. Default 30 s.
   */
  leaseMs?: number;
  logger: Pick<Console, "error">;
}

/** Whether the request declared the tasks extension (`_meta` client capabilities, per request). */
export function declaresTasks(capabilities: ClientCapabilities): boolean {
  const extensions = capabilities.extensions;
  return isRecord(extensions) && isRecord(extensions[TASKS_EXTENSION]);
}

/**
 * Who a task belongs to within its org: the user (Clerk), else the credential (an API key), else nobody in
 * particular (local/dev mode, org-wide). Another user's or key's task is reported as unknown.
 */
export function taskOwner(auth: Pick<Caller, "org" | "credentialId">): string | null {
  if (auth.org.userId !== null) return `user:${auth.org.userId}`;
  return auth.credentialId ? `key:${auth.credentialId}` : null;
}

function missingExtension(what: string): RpcError {
  return new RpcError(
    ErrorCode.MissingClientCapability,
    `Missing required client capability: ${what} needs the ${TASKS_EXTENSION} extension in _meta clientCapabilities.extensions`,
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
}

function unknownTask(taskId: string): RpcError {
  return new RpcError(ErrorCode.InvalidParams, `Invalid task: no task ${taskId} (unknown or expired)`, {
    taskId,
  });
}

/**
 * The `io.modelcontextprotocol/tasks` extension (SEP-2663) for stateless clients: a `tools/call` of a
 * tool with `taskSupport` from a client that declared the extension returns a task handle at once and
 * runs the tool in the background (non-live, like any stateless call); `tasks/get` reports it (the
 * result inlined once terminal), an `input_required` run parks the task until `tasks/update` has
 * answered every request and then re-runs the tool with all answers, and `tasks/cancel` aborts the
 * upstream call on whichever replica runs it. Tasks are org-scoped and, for user credentials, user-scoped.
 */
export class TaskService {
  /** The runs of this replica, by org and task: `tasks/cancel` (from any replica) aborts them. */
  private readonly running = new Map<string, Run>();
  private readonly off: () => void;
  private readonly ttlMs: number;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  /** Renews the leases of this replica's runs while there are any. */
  private renewer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly opts: TaskServiceOptions) {
    this.ttlMs = opts.ttlMs ?? 60 * 60_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.off = opts.store.onEvent((event) => {
      if (event.kind === "cancel") this.abortLocal(event.orgId, event.taskId);
      else for (const listener of this.statusListeners) listener(event);
    });
  }

  private readonly statusListeners = new Set<(event: Extract<TaskEvent, { kind: "status" }>) => void>();

  /** Status changes of every task, from every replica (for `notifications/tasks/status`). */
  onStatus(listener: (event: Extract<TaskEvent, { kind: "status" }>) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Tells every replica's listen streams about the task's new status (best effort). */
  private announce(task: TaskRecord | undefined): void {
    if (!task) return;
    const note = this.envelope(task);
    if (task.status === "completed" && task.result) note.result = task.result;
    if (task.status === "failed" && task.error) note.error = task.error;
    this.opts.store
      .publish({ kind: "status", orgId: task.orgId, owner: task.owner, task: note })
      .catch((error: unknown) => this.opts.logger.error("[mcp/tasks] could not announce a status", error));
  }

  close(): void {
    this.off();
    clearInterval(this.renewer);
    this.renewer = undefined;
    for (const run of this.running.values()) run.controller.abort();
    this.running.clear();
  }

  /**
   * What a `tools/call` becomes: "task" (create one), "sync" (run as usual), or a -32021 error when the
   * tool requires a task and the client did not declare the extension.
   */
  mode(toolName: string, capabilities: ClientCapabilities): "task" | "sync" {
    const support = this.opts.registry.capabilities.tools.get(toolName)?.tool.execution?.taskSupport;
    if (support !== "optional" && support !== "required") return "sync";
    if (declaresTasks(capabilities)) return "task";
    if (support === "required") throw missingExtension(`tool ${toolName} runs only as a task, so it`);
    return "sync";
  }

  /**
   * The synchronous step of a tool that gathers input before it becomes a task: its `input_required`
   * result (or its error result) while it is not done, undefined once every answer is in.
   */
  async gather(call: CallContext, params: ToolsCallParams): Promise<Json | undefined> {
    const result = await this.opts.dispatcher.request(
      { ...call, era: "task", phase: "gather" },
      "tools/call",
      params,
    );
    return result.resultType === "input_required" || result.isError === true ? result : undefined;
  }

  /** Creates the task (durably: a `tasks/get` right after resolves) and starts it; the CreateTaskResult. */
  async start(
    caller: TaskCaller,
    params: ToolsCallParams,
    inputResponses: Record<string, unknown> = {},
  ): Promise<Json> {
    const name = params.name;
    const now = new Date().toISOString();
    const task: TaskRecord = {
      taskId: crypto.randomUUID(),
      orgId: caller.caller.org.orgId,
      owner: taskOwner(caller.caller),
      status: "working",
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: this.ttlMs,
      call: { name, arguments: params.arguments ?? {}, clientCapabilities: caller.clientCapabilities },
      inputResponses,
      leased: true,
    };
    await this.opts.store.create(task);
    this.announce(task);
    this.run(task, caller.caller);
    return { ...this.envelope(task), resultType: "task" };
  }

  async get(caller: TaskCaller, params: TaskIdParams): Promise<Json> {
    const task = await this.find(caller, params, "tasks/get");
    const out = this.envelope(task);
    if (task.status === "input_required" && task.inputRequests) out.inputRequests = task.inputRequests;
    if (task.status === "completed" && task.result) out.result = task.result;
    if (task.status === "failed" && task.error) out.error = task.error;
    return out;
  }

  /** Answers some or all pending input requests; the tool re-runs once none is left. An empty ack. */
  async update(caller: TaskCaller, params: TasksUpdateParams): Promise<Json> {
    const task = await this.find(caller, params, "tasks/update");
    const answers = params.inputResponses;
    let resume: TaskRecord | undefined;
    const updated = await this.opts.store.update(task.orgId, task.taskId, (current) => {
      if (current.status !== "input_required" || !current.inputRequests) return undefined;
      const pending = { ...current.inputRequests };
      const gathered = { ...current.inputResponses };
      let changed = false;
      for (const [key, answer] of Object.entries(answers)) {
        if (!(key in pending)) continue; // unknown or already answered keys are ignored
        gathered[key] = answer;
        delete pending[key];
        changed = true;
      }
      if (!changed) return undefined;
      const next: TaskRecord = { ...current, inputResponses: gathered, inputRequests: pending };
      if (Object.keys(pending).length === 0) {
        next.status = "working";
        next.leased = true;
        delete next.inputRequests;
        delete next.statusMessage;
        resume = next;
      }
      return next;
    });
    if (resume) {
      this.announce(updated);
      this.run(resume, caller.caller);
    }
    return {};
  }

  /** Cancels a task that is not terminal yet (idempotent); the running call is aborted. An empty ack. */
  async cancel(caller: TaskCaller, params: TaskIdParams): Promise<Json> {
    const task = await this.find(caller, params, "tasks/cancel");
    if (TERMINAL.has(task.status)) return {};
    const cancelled = await this.opts.store.update(task.orgId, task.taskId, (current) => ({
      ...current,
      status: "cancelled",
      statusMessage: "Cancelled by the client",
      inputRequests: undefined,
    }));
    if (cancelled?.status === "cancelled") {
      this.abortLocal(task.orgId, task.taskId);
      await this.opts.store.publish({ kind: "cancel", orgId: task.orgId, taskId: task.taskId });
      this.announce(cancelled);
    }
    return {};
  }

  private async find(caller: TaskCaller, params: TaskIdParams, method: string): Promise<TaskRecord> {
    if (!declaresTasks(caller.clientCapabilities)) throw missingExtension(method);
    const { taskId } = params;
    const task = await this.opts.store.get(caller.caller.org.orgId, taskId);
    // Another user's task is reported like an unknown one (no existence oracle).
    if (!task || (task.owner !== null && task.owner !== taskOwner(caller.caller))) throw unknownTask(taskId);
    return this.reap(task);
  }

  /**
   * A `working` task no live replica runs (its lease lapsed: the replica died or lost Redis for longer
   * than the lease) is failed, so its client stops polling and can call the tool again; else as it is.
   */
  private async reap(task: TaskRecord): Promise<TaskRecord> {
    if (!this.abandoned(task) || (await this.opts.store.leased(task.orgId, task.taskId))) return task;
    // Whether the write that landed was this one (the last try of the store's compare-and-set decides).
    let reaped = false;
    const failed = await this.opts.store.update(task.orgId, task.taskId, (current) => {
      reaped = this.abandoned(current);
      if (!reaped) return undefined;
      return {
        ...current,
        status: "failed",
        statusMessage: ABANDONED,
        error: {
          code: ErrorCode.InternalError,
          message: `The gateway replica running this task stopped before it finished (its lease of ${this.leaseMs} ms lapsed); call the tool again`,
        },
      };
    });
    if (reaped && failed?.status === "failed") {
      tasksAbandoned.inc();
      this.announce(failed);
    }
    return failed ?? task;
  }

  /** Working, leased, not run here, and not changed for a whole lease (a run just resumed has time). */
  private abandoned(task: TaskRecord): boolean {
    return (
      task.status === "working" &&
      task.leased === true &&
      !this.running.has(this.localKey(task.orgId, task.taskId)) &&
      Date.now() - Date.parse(task.lastUpdatedAt) > this.leaseMs
    );
  }

  /** Renews every run's lease (a third of the lease apart); stops when this replica runs none. */
  private renewLeases(): void {
    if (this.running.size === 0) {
      clearInterval(this.renewer);
      this.renewer = undefined;
      return;
    }
    for (const run of this.running.values()) this.lease(run);
  }

  private lease(run: Run): void {
    this.opts.store
      .lease(run.orgId, run.taskId, this.leaseMs)
      .catch((error: unknown) =>
        this.opts.logger.error(`[mcp/tasks] could not renew the lease of task ${run.taskId}`, error),
      );
  }

  /** The task fields every task-shaped answer carries. */
  private envelope(task: TaskRecord): Json {
    const out: Json = {
      taskId: task.taskId,
      status: task.status,
      createdAt: task.createdAt,
      lastUpdatedAt: task.lastUpdatedAt,
      ttlMs: task.ttlMs,
      pollIntervalMs: this.pollIntervalMs,
    };
    if (task.statusMessage) out.statusMessage = task.statusMessage;
    return out;
  }

  private localKey(orgId: string, taskId: string): string {
    return `${orgId}\u0000${taskId}`;
  }

  private abortLocal(orgId: string, taskId: string): void {
    this.running.get(this.localKey(orgId, taskId))?.controller.abort();
  }

  /** Runs (or re-runs, with every answer so far) the task's tool in the background on this replica. */
  private run(task: TaskRecord, caller: Caller): void {
    const controller = new AbortController();
    const key = this.localKey(task.orgId, task.taskId);
    const run: Run = { controller, orgId: task.orgId, taskId: task.taskId };
    this.running.set(key, run);
    this.lease(run);
    if (this.renewer === undefined) {
      this.renewer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(this.leaseMs / 3)));
      this.renewer.unref?.();
    }
    const call: CallContext = {
      era: "task",
      id: task.taskId,
      caller,
      clientCapabilities: task.call.clientCapabilities as ClientCapabilities,
      live: false,
      inputResponses: task.inputResponses,
      logLevel: undefined,
      signal: controller.signal,
      sessionKey: `task:${task.orgId}:${task.taskId}`,
      out: { send: () => true },
      session: undefined,
    };
    const settle = (status: TaskRecord["status"], change: (t: TaskRecord) => TaskRecord) =>
      this.opts.store
        .update(task.orgId, task.taskId, (t) => ({ ...change(t), status }))
        .then(
          (stored) => {
            // Announced only when this outcome was recorded (not when the task was cancelled meanwhile).
            if (stored?.status === status) this.announce(stored);
          },
          (error: unknown) => {
            this.opts.logger.error(`[mcp/tasks] could not record the outcome of task ${task.taskId}`, error);
          },
        );
    const params: Json = { name: task.call.name, arguments: task.call.arguments };
    this.opts.dispatcher
      .request(call, "tools/call", params)
      .then(
        (result) => {
          if (result.resultType === "input_required") {
            return settle("input_required", (t) => ({
              ...t,
              statusMessage: "Waiting for the client's input (answer with tasks/update)",
              inputRequests: isRecord(result.inputRequests) ? result.inputRequests : {},
            }));
          }
          const { resultType: _resultType, ...toolResult } = result;
          return settle("completed", (t) => ({ ...t, result: toolResult }));
        },
        (error: unknown) => {
          const object =
            error instanceof RpcError
              ? error.toObject()
              : { code: ErrorCode.InternalError, message: "Internal error" };
          if (!(error instanceof RpcError)) this.opts.logger.error("[mcp/tasks] task failed", error);
          return settle("failed", (t) => ({ ...t, error: object }));
        },
      )
      .finally(() => {
        if (this.running.get(key) !== run) return;
        this.running.delete(key);
        this.opts.store.release(task.orgId, task.taskId).catch(() => {
          // it lapses by itself
        });
      });
  }
}
