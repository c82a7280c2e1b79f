import {
  EmptyParams,
  ListenParams,
  PromptsGetParams,
  TaskIdParams,
  TasksUpdateParams,
  ToolsCallParams,
} from "@omni/contracts";
import type { ConfigService } from "../../ports.ts";
import type { Registry } from "../../registry/index.ts";
import type { CallContext } from "../core/context.ts";
import { type MethodHandler, method } from "../core/methods.ts";
import type { Dispatcher } from "../dispatcher.ts";
import { type Json, notificationMessage, RpcError } from "../protocol.ts";
import { declaresTasks, TASKS_EXTENSION, type TaskService, taskOwner } from "../tasks/service.ts";
import { ALL_VERSIONS, META } from "./era.ts";
import { promptInputs } from "./prompts.ts";
import type { StateBinding, StateSealer } from "./state.ts";
import type { ListenHub } from "./subscriptions.ts";

/** What the gateway offers a 2026-07-28 client (`server/discover`). */
const MODERN_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
  extensions: { [TASKS_EXTENSION]: {} },
};

export interface ModernMethodsDeps {
  dispatcher: Dispatcher;
  config: ConfigService;
  registry: Registry;
  sealer: StateSealer;
  tasks: TaskService;
  hub: ListenHub;
}

/** The handler the core binds to a method (the modern one wraps it). */
function core(dispatcher: Dispatcher, name: string): MethodHandler {
  const handler = dispatcher.handler("session", name);
  if (!handler) throw new Error(`the core has no handler for ${name}`);
  return handler;
}

/**
 * The methods only 2026-07-28 has, and its versions of `tools/call` and `prompts/get`: multi-round-trip
 * `input_required` results carrying a sealed `requestState`, tasks for tools that support them, and
 * missing prompt arguments asked for by elicitation.
 */
export function modernMethods(deps: ModernMethodsDeps): Record<string, MethodHandler> {
  const { sealer, tasks, hub } = deps;
  const promptsGet = core(deps.dispatcher, "prompts/get");

  const binding = (call: CallContext, target: string, args: unknown): StateBinding => ({
    orgId: call.caller.org.orgId,
    userId: call.caller.org.userId,
    target,
    arguments: args ?? {},
  });
  /**
   * The answers of earlier rounds (from the sealed state) merged with this retry's `inputResponses`;
   * undefined on a first round without answers (the common call).
   */
  const responses = (
    bound: () => StateBinding,
    params: { requestState?: unknown; inputResponses?: Record<string, unknown> | undefined },
  ): Record<string, unknown> | undefined => {
    if (params.requestState === undefined) return params.inputResponses;
    return { ...sealer.open(params.requestState, bound()), ...params.inputResponses };
  };
  const sealed = (
    result: Json,
    bound: () => StateBinding,
    answers: Record<string, unknown> | undefined,
  ): Json =>
    result.resultType === "input_required"
      ? { ...result, requestState: sealer.seal(bound(), answers ?? {}) }
      : result;

  return {
    "server/discover": method(EmptyParams, async (call) => {
      const result: Json = { supportedVersions: [...ALL_VERSIONS], capabilities: MODERN_CAPABILITIES };
      const instructions = await deps.dispatcher.instructions(call.caller.org.orgId);
      if (instructions) result.instructions = instructions;
      return result;
    }),

    "tools/call": method(ToolsCallParams, async (call, params) => {
      const bound = () => binding(call, `tools/call:${params.name}`, params.arguments);
      const answers = responses(bound, params);
      const withAnswers: CallContext = answers ? { ...call, inputResponses: answers } : call;
      // By the caller's name (policy renames, hides): a tool it cannot see runs the sync path's unknown-tool error.
      const result = await deps.dispatcher.callTool(withAnswers, params, async (route) => {
        if (tasks.mode(route.tool.name, call.clientCapabilities) !== "task") return undefined;
        // A tool that gathers input first answers input_required rounds synchronously, then becomes a task.
        if (route.gathersInput) {
          const gathered = await tasks.gather(withAnswers, params);
          if (gathered) return gathered;
        }
        return tasks.start(call, params, answers ?? {});
      });
      return sealed(result, bound, answers);
    }),

    "prompts/get": method(PromptsGetParams, async (call, params) => {
      const bound = () => binding(call, `prompts/get:${params.name}`, params.arguments);
      const answers = responses(bound, params) ?? {};
      let args = params.arguments;
      if (call.clientCapabilities.elicitation) {
        // The caller's prompts (its bundle's): a prompt outside them is never asked about.
        const scope = await deps.dispatcher.scope(call.caller);
        const prompt = scope.prompts.find((p) => p.name === params.name);
        if (prompt) {
          const step = promptInputs(prompt, args ?? {}, answers);
          if (step.kind === "input_required") {
            return sealed(
              { resultType: "input_required", inputRequests: step.inputRequests },
              bound,
              answers,
            );
          }
          args = step.arguments;
        }
      }
      return promptsGet.handle(call, { ...params, arguments: args });
    }),

    "tasks/get": method(TaskIdParams, (call, params) => tasks.get(call, params)),
    "tasks/update": method(TasksUpdateParams, (call, params) => tasks.update(call, params)),
    "tasks/cancel": method(TaskIdParams, (call, params) => tasks.cancel(call, params)),

    /** Acknowledged first, then the org's change notifications on the call's stream, until the client goes. */
    "subscriptions/listen": method(ListenParams, async (call, params) => {
      const filter = params.notifications;
      const subscriptionId = call.id;
      let detach = () => {};
      const gone = new Promise<void>((resolve) => {
        const send = (message: Json) => {
          if (call.out.send(message) === false) resolve();
        };
        send(
          notificationMessage("notifications/subscriptions/acknowledged", {
            notifications: filter,
            _meta: { [META.subscriptionId]: subscriptionId },
          }),
        );
        detach = hub.add({
          orgId: call.caller.org.orgId,
          owner: taskOwner(call.caller),
          tasks: declaresTasks(call.clientCapabilities),
          filter,
          subscriptionId,
          send,
        });
        if (call.signal.aborted) resolve();
        call.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      await gone;
      detach();
      throw new RpcError(-32800, "The listen stream was closed");
    }),
  };
}
