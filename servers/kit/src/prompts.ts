import { ErrorCode, type GetPromptResult, type PromptDescriptor, type PromptTemplate } from "@omni/contracts";

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

/**
 * Render `{{argument}}` placeholders. Missing required arguments and values outside an argument's
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
  const result: GetPromptResult = {
    messages: prompt.messages.map((m) => ({
      role: m.role,
      content: {
        type: "text",
        text: m.text.replace(
          /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
          (_, name: string) => values[name] ?? "",
        ),
      },
    })),
  };
  if (prompt.description !== undefined) result.description = prompt.description;
  return result;
}
