import * as v from "valibot";

/** MCP shapes shared by the gateway, the server kit, the admin and the CLI (protocol 2025-11-25 names). */

export const LogLevel = v.picklist([
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
]);
export type LogLevel = v.InferOutput<typeof LogLevel>;

export const JsonSchemaObject = v.looseObject({
  type: v.literal("object"),
  properties: v.optional(v.record(v.string(), v.unknown())),
  required: v.optional(v.array(v.string())),
});
export type JsonSchemaObject = v.InferOutput<typeof JsonSchemaObject>;

export const ToolAnnotations = v.object({
  title: v.optional(v.string()),
  readOnlyHint: v.optional(v.boolean()),
  destructiveHint: v.optional(v.boolean()),
  idempotentHint: v.optional(v.boolean()),
  openWorldHint: v.optional(v.boolean()),
});
export type ToolAnnotations = v.InferOutput<typeof ToolAnnotations>;

export const ToolDescriptor = v.object({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,128}$/, "tool names are 1-128 of A-Z a-z 0-9 _ . -")),
  title: v.optional(v.string()),
  description: v.string(),
  inputSchema: JsonSchemaObject,
  outputSchema: v.optional(JsonSchemaObject),
  annotations: v.optional(ToolAnnotations),
  /** Tool supports MCP tasks (long-running; 2025-11-25 tasks extension). */
  execution: v.optional(
    v.object({ taskSupport: v.optional(v.picklist(["forbidden", "optional", "required"])) }),
  ),
});
export type ToolDescriptor = v.InferOutput<typeof ToolDescriptor>;

export const PromptArgument = v.object({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "argument names are identifiers")),
  description: v.optional(v.string()),
  required: v.optional(v.boolean()),
  /** Known values: offered by completion/complete and checked on render. */
  enum: v.optional(v.array(v.string())),
  default: v.optional(v.string()),
});
export type PromptArgument = v.InferOutput<typeof PromptArgument>;

export const ResourceContents = v.union([
  v.object({ uri: v.string(), mimeType: v.optional(v.string()), text: v.string() }),
  v.object({ uri: v.string(), mimeType: v.optional(v.string()), blob: v.string() }),
]);
export type ResourceContents = v.InferOutput<typeof ResourceContents>;

export const ReadResourceResult = v.object({ contents: v.array(ResourceContents) });
export type ReadResourceResult = v.InferOutput<typeof ReadResourceResult>;

export const ContentBlock = v.variant("type", [
  v.looseObject({ type: v.literal("text"), text: v.string() }),
  v.looseObject({ type: v.literal("image"), data: v.string(), mimeType: v.string() }),
  v.looseObject({ type: v.literal("audio"), data: v.string(), mimeType: v.string() }),
  v.looseObject({ type: v.literal("resource_link"), uri: v.string(), name: v.string() }),
  v.looseObject({ type: v.literal("resource"), resource: ResourceContents }),
]);
export type ContentBlock = v.InferOutput<typeof ContentBlock>;

export const PromptMessageTemplate = v.object({
  role: v.picklist(["user", "assistant"]),
  /** Text with `{{argument}}` placeholders. */
  text: v.string(),
  /**
   * Optional non-text message (an image, an embedded resource, ...). When set, the rendered message's
   * content is this block with `{{argument}}` placeholders substituted in its string fields, and `text`
   * is only a plain-text summary (shown where rich content is not). Added for MCP prompts with images
   * and embedded resources; renderers that ignore it still produce the `text` message.
   */
  content: v.optional(ContentBlock),
});
export type PromptMessageTemplate = v.InferOutput<typeof PromptMessageTemplate>;

/** A prompt as stored (database) or declared in code by a server: data, rendered by the gateway. */
export const PromptTemplate = v.object({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,128}$/, "prompt names are 1-128 of A-Z a-z 0-9 _ . -")),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  arguments: v.optional(v.array(PromptArgument)),
  messages: v.pipe(v.array(PromptMessageTemplate), v.minLength(1, "a prompt has at least one message")),
});
export type PromptTemplate = v.InferOutput<typeof PromptTemplate>;

export const PromptDescriptor = v.object({
  name: v.string(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  arguments: v.optional(
    v.array(
      v.object({ name: v.string(), description: v.optional(v.string()), required: v.optional(v.boolean()) }),
    ),
  ),
});
export type PromptDescriptor = v.InferOutput<typeof PromptDescriptor>;

export const ResourceDescriptor = v.object({
  uri: v.string(),
  name: v.string(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  mimeType: v.optional(v.string()),
  size: v.optional(v.number()),
});
export type ResourceDescriptor = v.InferOutput<typeof ResourceDescriptor>;

export const ResourceTemplateDescriptor = v.object({
  uriTemplate: v.string(),
  name: v.string(),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  mimeType: v.optional(v.string()),
});
export type ResourceTemplateDescriptor = v.InferOutput<typeof ResourceTemplateDescriptor>;

export const CallToolResult = v.object({
  content: v.array(ContentBlock),
  structuredContent: v.optional(v.record(v.string(), v.unknown())),
  isError: v.optional(v.boolean()),
});
export type CallToolResult = v.InferOutput<typeof CallToolResult>;

export const PromptMessage = v.object({
  role: v.picklist(["user", "assistant"]),
  content: ContentBlock,
});
export type PromptMessage = v.InferOutput<typeof PromptMessage>;

export const GetPromptResult = v.object({
  description: v.optional(v.string()),
  messages: v.array(PromptMessage),
});
export type GetPromptResult = v.InferOutput<typeof GetPromptResult>;

/** Server-to-client requests a tool may make through its context (answered by the client). */
export const ClientRequestMethod = v.picklist(["sampling/createMessage", "elicitation/create", "roots/list"]);
export type ClientRequestMethod = v.InferOutput<typeof ClientRequestMethod>;

export const ClientCapabilities = v.looseObject({
  sampling: v.optional(v.record(v.string(), v.unknown())),
  elicitation: v.optional(v.record(v.string(), v.unknown())),
  roots: v.optional(v.record(v.string(), v.unknown())),
});
export type ClientCapabilities = v.InferOutput<typeof ClientCapabilities>;
