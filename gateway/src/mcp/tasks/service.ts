import { type ClientCapabilities, ErrorCode, type OrgContext } from "@omni/contracts";
import type { Registry } from "../../registry/index.ts";
import type { Dispatcher } from "../dispatcher.ts";
import { isRecord, type Json, LATEST_SESSION_VERSION, RpcError } from "../protocol.ts";
import { createSession, type Session } from "../session.ts";
import { type TaskEvent, type TaskRecord, type TaskStore, TERMINAL } from "./store.ts";

/** The extension id, under `capabilities.extensions` (server) and `clientCapabilities.extensions` (client). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** Methods of the extension this gateway serves (`tasks/result` and `tasks/list` were removed). */
export const TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/update", "tasks/cancel"]);

/** Who asks, as the modern edge authenticated them. */
export interface TaskCaller {
  org: Omit<OrgContext, "requestId">;
  credentialId?: string;
  expiresAt?: number;
  clientCapabilities: ClientCapabilities;
}

export interface TaskServiceOptions {
  dispatcher: Dispatcher;
  registry: Registry;
  store: TaskStore;
  /** How long a task is kept after creation. Default 1 hour. */
  ttlMs?: number;
  /** Suggested `tasks/get` polling period. Default 1 s. */
  pollIntervalMs?: number;
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
export function taskOwner(auth: { org: { userId: string | null }; credentialId?: string }): string | null {
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

/**
 * The in-flight map of a task's run: a cancellation that arrives before the dispatcher has registered the
 * upstream call (or between two calls) still aborts it, the moment it is registered.
 */
class TaskInflight extends Map<string, AbortController> {
  private cancelled = false;

  override set(key: string, controller: AbortController): this {
    super.set(key, controller);
    if (this.cancelled) controller.abort();
    return this;
  }

  cancel(): void {
    this.cancelled = true;
    for (const controller of this.values()) controller.abort();
  }
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
  private readonly running = new Map<string, TaskInflight>();
  private readonly off: () => void;
  private readonly ttlMs: number;
  private readonly pollIntervalMs: number;

  constructor(private readonly opts: TaskServiceOptions) {
    this.ttlMs = opts.ttlMs ?? 60 * 60_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
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
    for (const inflight of this.running.values()) inflight.cancel();
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

  /** Creates the task (durably: a `tasks/get` right after resolves) and starts it; the CreateTaskResult. */
  async start(caller: TaskCaller, params: Json): Promise<Json> {
    const name = params.name;
    if (typeof name !== "string") throw new RpcError(ErrorCode.InvalidParams, "params.name must be a string");
    if (params.arguments !== undefined && !isRecord(params.arguments)) {
      throw new RpcError(ErrorCode.InvalidParams, "params.arguments must be an object");
    }
    const now = new Date().toISOString();
    const task: TaskRecord = {
      taskId: crypto.randomUUID(),
      orgId: caller.org.orgId,
      owner: taskOwner(caller),
      status: "working",
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: this.ttlMs,
      call: { name, arguments: params.arguments ?? {}, clientCapabilities: caller.clientCapabilities },
      inputResponses: {},
    };
    await this.opts.store.create(task);
    this.announce(task);
    this.run(task, caller);
    return { ...this.envelope(task), resultType: "task" };
  }

  async get(caller: TaskCaller, params: Json): Promise<Json> {
    const task = await this.find(caller, params, "tasks/get");
    const out = this.envelope(task);
    if (task.status === "input_required" && task.inputRequests) out.inputRequests = task.inputRequests;
    if (task.status === "completed" && task.result) out.result = task.result;
    if (task.status === "failed" && task.error) out.error = task.error;
    return out;
  }

  /** Answers some or all pending input requests; the tool re-runs once none is left. An empty ack. */
  async update(caller: TaskCaller, params: Json): Promise<Json> {
    const task = await this.find(caller, params, "tasks/update");
    const answers = params.inputResponses;
    if (!isRecord(answers)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        "params.inputResponses must be an object keyed by the keys of the task's inputRequests",
      );
    }
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
        delete next.inputRequests;
        delete next.statusMessage;
        resume = next;
      }
      return next;
    });
    if (resume) {
      this.announce(updated);
      this.run(resume, caller);
    }
    return {};
  }

  /** Cancels a task that is not terminal yet (idempotent); the running call is aborted. An empty ack. */
  async cancel(caller: TaskCaller, params: Json): Promise<Json> {
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

  private async find(caller: TaskCaller, params: Json, method: string): Promise<TaskRecord> {
    if (!declaresTasks(caller.clientCapabilities)) throw missingExtension(method);
    const taskId = params.taskId;
    if (typeof taskId !== "string" || taskId === "") {
      throw new RpcError(ErrorCode.InvalidParams, "params.taskId must be a non-empty string");
    }
    const task = await this.opts.store.get(caller.org.orgId, taskId);
    // Another user's task is reported like an unknown one (no existence oracle).
    if (!task || (task.owner !== null && task.owner !== taskOwner(caller))) throw unknownTask(taskId);
    return task;
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
    this.running.get(this.localKey(orgId, taskId))?.cancel();
  }

  /** Runs (or re-runs, with every answer so far) the task's tool in the background on this replica. */
  private run(task: TaskRecord, caller: TaskCaller): void {
    const inflight = new TaskInflight();
    const session: Session = {
      ...createSession({
        id: `task:${task.orgId}:${task.taskId}`,
        org: caller.org,
        credentialId: caller.credentialId,
        expiresAt: caller.expiresAt,
        protocolVersion: LATEST_SESSION_VERSION,
        clientCapabilities: task.call.clientCapabilities as ClientCapabilities,
        clientInfo: {},
      }),
      inflight,
    };
    session.stateless = { inputResponses: task.inputResponses };
    const key = this.localKey(task.orgId, task.taskId);
    this.running.set(key, inflight);
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
      .request(session, task.taskId, "tools/call", params, { send: () => {} })
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
        if (this.running.get(key) === inflight) this.running.delete(key);
      });
  }
}
