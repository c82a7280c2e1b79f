import * as v from "valibot";
import { ClientCapabilities, LogLevel } from "./mcp.ts";

/**
 * The params of every MCP method the gateway serves, as valibot schemas: the gateway's method registry
 * validates each request against its method's schema (a failure is -32602 naming the field). Objects are
 * loose: `_meta` and fields of newer revisions pass through.
 */

/** A JSON object of string keys (valibot's `record` and `looseObject` also take an array). */
function objectOf<T extends v.GenericSchema>(item: T, message: string) {
  return v.pipe(
    v.custom<Record<string, unknown>>(
      (value) => typeof value === "object" && value !== null && !Array.isArray(value),
      message,
    ),
    v.record(v.string(), item, message),
  );
}

const Meta = v.optional(
  v.looseObject({
    progressToken: v.optional(v.union([v.string(), v.number()], "must be a string or a number")),
  }),
);

/** Methods without params (`ping`, `server/discover`). */
export const EmptyParams = v.looseObject({});

/** `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`. */
export const ListParams = v.looseObject({
  cursor: v.optional(v.nullable(v.string("must be a string: the nextCursor of the previous page"))),
});
export type ListParams = v.InferOutput<typeof ListParams>;

export const InitializeParams = v.looseObject({
  protocolVersion: v.string("must be a string such as 2025-11-25"),
  capabilities: v.optional(ClientCapabilities),
  clientInfo: v.optional(v.looseObject({})),
});
export type InitializeParams = v.InferOutput<typeof InitializeParams>;

/** Answers of earlier `input_required` requests, keyed by the keys of the inputRequests they answer. */
const InputResponses = v.optional(
  objectOf(v.unknown(), "must be an object keyed by the keys of the inputRequests it answers"),
);

export const ToolsCallParams = v.looseObject({
  name: v.string("must be a string: a tool name from tools/list"),
  arguments: v.optional(objectOf(v.unknown(), "must be an object")),
  _meta: Meta,
  inputResponses: InputResponses,
  requestState: v.optional(v.unknown()),
});
export type ToolsCallParams = v.InferOutput<typeof ToolsCallParams>;

export const PromptsGetParams = v.looseObject({
  name: v.string("must be a string: a prompt name from prompts/list"),
  arguments: v.optional(objectOf(v.string("must be a string"), "must be an object of strings")),
  _meta: Meta,
  inputResponses: InputResponses,
  requestState: v.optional(v.unknown()),
});
export type PromptsGetParams = v.InferOutput<typeof PromptsGetParams>;

/** `resources/read`, `resources/subscribe`, `resources/unsubscribe`. */
export const ResourceUriParams = v.looseObject({ uri: v.string("must be a string") });
export type ResourceUriParams = v.InferOutput<typeof ResourceUriParams>;

export const CompleteParams = v.looseObject({
  ref: v.variant(
    "type",
    [
      v.looseObject({ type: v.literal("ref/prompt"), name: v.string("must be a string") }),
      v.looseObject({ type: v.literal("ref/resource"), uri: v.string("must be a string") }),
    ],
    "must be {type: 'ref/prompt', name} or {type: 'ref/resource', uri}",
  ),
  argument: v.looseObject(
    {
      name: v.string("must be a string"),
      value: v.string("must be a string"),
    },
    "must be {name: string, value: string}",
  ),
  context: v.optional(v.looseObject({ arguments: v.optional(v.record(v.string(), v.string())) })),
});
export type CompleteParams = v.InferOutput<typeof CompleteParams>;

export const SetLevelParams = v.looseObject({
  level: v.picklist(LogLevel.options, `must be one of ${LogLevel.options.join(", ")}`),
});
export type SetLevelParams = v.InferOutput<typeof SetLevelParams>;

/** `tasks/get`, `tasks/cancel` (the tasks extension, SEP-2663). */
export const TaskIdParams = v.looseObject({
  taskId: v.pipe(v.string("must be a non-empty string"), v.minLength(1, "must be a non-empty string")),
});
export type TaskIdParams = v.InferOutput<typeof TaskIdParams>;

export const TasksUpdateParams = v.looseObject({
  taskId: TaskIdParams.entries.taskId,
  inputResponses: objectOf(v.unknown(), "must be an object keyed by the keys of the task's inputRequests"),
});
export type TasksUpdateParams = v.InferOutput<typeof TasksUpdateParams>;

/** What a `subscriptions/listen` stream asks for (SubscriptionFilter of 2026-07-28). */
export const SubscriptionFilter = v.looseObject(
  {
    toolsListChanged: v.optional(v.boolean("must be a boolean")),
    promptsListChanged: v.optional(v.boolean("must be a boolean")),
    resourcesListChanged: v.optional(v.boolean("must be a boolean")),
    resourceSubscriptions: v.optional(
      v.array(v.string("must be a resource URI (a string)"), "must be an array of resource URIs"),
    ),
  },
  "must be an object (a SubscriptionFilter)",
);
export type SubscriptionFilter = v.InferOutput<typeof SubscriptionFilter>;

export const ListenParams = v.looseObject({ notifications: SubscriptionFilter });
export type ListenParams = v.InferOutput<typeof ListenParams>;
