import {
  type ContentBlock,
  ErrorCode,
  type GetPromptResult,
  type PromptDescriptor,
  type PromptTemplate,
} from "@omni/contracts";

/** A prompt's public descriptor (no message text, no enum/default internals). */
export function promptDescriptor(prompt: PromptTemplate): PromptDescriptor {
  const out: PromptDescriptor = { name: prompt.name };
  if (prompt.title !== undefined) out.title = prompt.title;
  if (prompt.description !== undefined) out.description = prompt.description;
  if (prompt.arguments) {
    out.arguments = prompt.arguments.map((a) => {
      const arg: { name: string; description?: string; required?: boolean } = { name: a.name };
      if (a.description !== undefined) arg.description = a.description;
      if (a.required !== undefined) arg.required = a.required;
      return arg;
    });
  }
  return out;
}

export class PromptArgumentError extends Error {
  readonly code = ErrorCode.InvalidParams;
  constructor(
    message: string,
    readonly data: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** A copy of `node` with `fill` applied to every string value (keys and the block's `type` untouched). */
function mapStrings(node: unknown, fill: (text: string) => string, top: boolean): unknown {
  if (typeof node === "string") return fill(node);
  if (Array.isArray(node)) return node.map((item) => mapStrings(item, fill, false));
  if (node !== null && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] = top && key === "type" ? value : mapStrings(value, fill, false);
    }
    return out;
  }
  return node;
}

/** A non-text message's block with its string fields filled; only strings change, so the shape holds. */
function fillContent(content: ContentBlock, fill: (text: string) => string): ContentBlock {
  return mapStrings(content, fill, true) as ContentBlock;
}

/**
 * Render `{{argument}}` placeholders (in message text, or in the string fields of a message's non-text
 * `content` block, which then replaces the text). Missing required arguments and values outside an argument's
 * `enum` are -32602 errors naming the argument; defaults fill absent optional arguments.
 */
export function renderPrompt(prompt: PromptTemplate, args: Record<string, string>): GetPromptResult {
  const values: Record<string, string> = {};
  const problems: { path: string; message: string }[] = [];
  for (const arg of prompt.arguments ?? []) {
    const given = args[arg.name];
    if (given === undefined || given === "") {
      if (arg.default !== undefined) values[arg.name] = arg.default;
      else if (arg.required) problems.push({ path: arg.name, message: "required argument is missing" });
      else values[arg.name] = "";
      continue;
    }
    if (arg.enum && !arg.enum.includes(given)) {
      problems.push({ path: arg.name, message: `must be one of: ${arg.enum.join(", ")}` });
      continue;
    }
    values[arg.name] = given;
  }
  if (problems.length > 0) {
    throw new PromptArgumentError(
      `Invalid arguments for prompt ${prompt.name}: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
      problems,
    );
  }
  const fill = (text: string): string =>
    text.includes("{{")
      ? text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => values[name] ?? "")
      : text;
  const result: GetPromptResult = {
    messages: prompt.messages.map((m) => ({
      role: m.role,
      content: m.content ? fillContent(m.content, fill) : { type: "text", text: fill(m.text) },
    })),
  };
  if (prompt.description !== undefined) result.description = prompt.description;
  return result;
}
