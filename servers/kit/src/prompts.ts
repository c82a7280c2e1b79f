import {
  type ContentBlock,
  ErrorCode,
  type GetPromptResult,
  type PromptArgument,
  type PromptDescriptor,
  type PromptTemplate,
} from "@omni/contracts";

/**
 * Prompt templates, the one renderer for the gateway (org prompts, code prompts it serves) and for kit
 * servers run over stdio: `{{argument}}` placeholders in message text, and in every string field of a
 * message's optional non-text `content` block (image, audio, resource link, embedded resource, ...; object
 * keys and the block's `type` are never templates).
 *
 * Rules:
 *  - A placeholder is `{{name}}`, optional spaces inside the braces (`{{ name }}`); `name` is a declared
 *    argument (identifier: letters, digits, `_`, not starting with a digit).
 *  - `\{{` is a literal `{{` (the backslash is dropped). Nothing else is an escape: a lone `}}` or a
 *    backslash anywhere else is literal text.
 *  - A `{{` that does not form a placeholder, or a placeholder naming an undeclared argument, is an
 *    authoring error reported when the template is written (`templateIssues`), never at render time.
 *  - Substituted values are inserted verbatim (they are never re-scanned for placeholders).
 *  - A message with `content` renders as that block (placeholders filled); its `text` is then only a
 *    plain-text summary, still checked on write but not sent.
 *  - Rendering checks the values: a required argument missing (absent or empty), a value outside the
 *    argument's `enum`, or an argument the prompt does not declare is a -32602 `PromptArgumentError`
 *    naming every offending argument; an absent optional argument takes its `default`, else "".
 *  - A template that uses an undeclared placeholder (possible only for a template never checked with
 *    `templateIssues`, e.g. a code prompt) fails to render with a -32603 `PromptTemplateError`.
 */

/**
 * An argument's public description: its own text, then the values it accepts and its default, so a
 * client (and a model) knows them without `completion/complete`.
 */
function argumentDescription(argument: PromptArgument): string | undefined {
  if (!argument.enum?.length && argument.default === undefined) return argument.description;
  const parts = argument.description === undefined ? [] : [argument.description.replace(/\.?\s*$/, ".")];
  if (argument.enum && argument.enum.length > 0) parts.push(`One of: ${argument.enum.join(", ")}.`);
  if (argument.default !== undefined) parts.push(`Default: ${argument.default}.`);
  return parts.length > 0 ? parts.join(" ") : undefined;
}

/** A prompt's public descriptor (no message text; allowed values and default named in descriptions). */
export function promptDescriptor(prompt: PromptTemplate): PromptDescriptor {
  const out: PromptDescriptor = { name: prompt.name };
  if (prompt.title !== undefined) out.title = prompt.title;
  if (prompt.description !== undefined) out.description = prompt.description;
  if (prompt.arguments) {
    out.arguments = prompt.arguments.map((a) => {
      const arg: { name: string; description?: string; required?: boolean } = { name: a.name };
      const description = argumentDescription(a);
      if (description !== undefined) arg.description = description;
      if (a.required !== undefined) arg.required = a.required;
      return arg;
    });
  }
  return out;
}

/** One bad argument value: `path` is the argument's name. */
export interface PromptArgumentProblem {
  path: string;
  message: string;
}

/** The arguments given to a prompt are wrong (-32602); `data` lists each offending argument. */
export class PromptArgumentError extends Error {
  readonly code = ErrorCode.InvalidParams;
  constructor(
    message: string,
    readonly data: PromptArgumentProblem[],
  ) {
    super(message);
  }
}

/** The template itself cannot be rendered (-32603): it uses a placeholder it does not declare. */
export class PromptTemplateError extends Error {
  readonly code = ErrorCode.InternalError;
}

type Segment = { literal: string } | { argument: string };

const PLACEHOLDER = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/;

const OPENING = /\\\{\{|\{\{/g;

/** Splits template text into literal and placeholder segments; `errors` collects malformed `{{`. */
function parse(text: string, errors: string[]): Segment[] {
  const segments: Segment[] = [];
  let literal = "";
  let from = 0;
  OPENING.lastIndex = 0;
  for (let match = OPENING.exec(text); match; match = OPENING.exec(text)) {
    const at = match.index;
    literal += text.slice(from, at);
    if (match[0] !== "{{") {
      // `\{{`: a literal `{{`.
      literal += "{{";
      from = at + 3;
      OPENING.lastIndex = from;
      continue;
    }
    const placeholder = PLACEHOLDER.exec(text.slice(at, at + 200));
    if (placeholder) {
      if (literal) segments.push({ literal });
      literal = "";
      segments.push({ argument: placeholder[1]! });
      from = at + placeholder[0].length;
    } else {
      errors.push(
        `malformed placeholder at "${text.slice(at, at + 24)}": use {{argument_name}}, or \\{{ for a literal {{`,
      );
      literal += "{{";
      from = at + 2;
    }
    OPENING.lastIndex = from;
  }
  literal += text.slice(from);
  if (literal) segments.push({ literal });
  return segments;
}

const parsed = new Map<string, Segment[]>();
const PARSE_CACHE_SIZE = 2000;

/** `parse` for rendering, memoised by text (templates are few and rendered often). */
function segmentsOf(text: string): Segment[] {
  let segments = parsed.get(text);
  if (!segments) {
    segments = parse(text, []);
    if (parsed.size >= PARSE_CACHE_SIZE) parsed.delete(parsed.keys().next().value!);
    parsed.set(text, segments);
  }
  return segments;
}

/** An authoring problem in a template, with the field it is in (e.g. `messages.0.text`). */
export interface TemplateIssue {
  field: string;
  message: string;
}

/** Checks a template before it is stored: placeholders well formed and declared, arguments coherent. */
export function templateIssues(template: Pick<PromptTemplate, "arguments" | "messages">): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const declared = new Set<string>();
  (template.arguments ?? []).forEach((arg, index) => {
    if (declared.has(arg.name)) {
      issues.push({ field: `arguments.${index}.name`, message: `argument "${arg.name}" is declared twice` });
    }
    declared.add(arg.name);
    if (arg.enum && arg.enum.length === 0) {
      issues.push({ field: `arguments.${index}.enum`, message: `argument "${arg.name}" has an empty enum` });
    }
    if (arg.default !== undefined && arg.enum && !arg.enum.includes(arg.default)) {
      issues.push({
        field: `arguments.${index}.default`,
        message: `default "${arg.default}" of argument "${arg.name}" is not one of its enum values`,
      });
    }
  });
  const check = (text: string, field: string) => {
    if (!text.includes("{{")) return;
    const errors: string[] = [];
    for (const segment of parse(text, errors)) {
      if ("argument" in segment && !declared.has(segment.argument)) {
        errors.push(`placeholder {{${segment.argument}}} names no declared argument`);
      }
    }
    for (const error of errors) issues.push({ field, message: error });
  };
  template.messages.forEach((message, index) => {
    check(message.text, `messages.${index}.text`);
    if (message.content) {
      forEachString(message.content, `messages.${index}.content`, check, true);
    }
  });
  return issues;
}

/** Calls `visit` with every templated string field of a content block and its dotted path. */
function forEachString(
  node: unknown,
  path: string,
  visit: (text: string, field: string) => void,
  top: boolean,
): void {
  if (typeof node === "string") visit(node, path);
  else if (Array.isArray(node)) {
    node.forEach((item, index) => {
      forEachString(item, `${path}.${index}`, visit, false);
    });
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (!(top && key === "type")) forEachString(value, `${path}.${key}`, visit, false);
    }
  }
}

/** A copy of `node` with `fill` applied to every string in it (keys and the block's `type` untouched). */
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

/**
 * Fills a content block's string fields. Only strings change (objects, arrays, numbers, keys and `type`
 * are copied as they are), so the result has the block's shape.
 */
function fillContent(content: ContentBlock, fill: (text: string) => string): ContentBlock {
  return mapStrings(content, fill, true) as ContentBlock;
}

/** The value of every declared argument (defaults applied), or a `PromptArgumentError` listing all problems. */
function resolveArguments(prompt: PromptTemplate, values: Record<string, string>): Map<string, string> {
  const declared = prompt.arguments ?? [];
  const names = new Set(declared.map((a) => a.name));
  const problems: PromptArgumentProblem[] = [];
  for (const name of Object.keys(values)) {
    if (!names.has(name)) {
      const known = declared.length
        ? `it takes ${declared.map((a) => a.name).join(", ")}`
        : "it takes no arguments";
      problems.push({ path: name, message: `unknown argument (${known})` });
    }
  }
  const resolved = new Map<string, string>();
  for (const arg of declared) {
    const given = values[arg.name];
    const value = given === undefined || given === "" ? arg.default : given;
    if (value === undefined || value === "") {
      if (arg.required) problems.push({ path: arg.name, message: "required argument is missing" });
      else resolved.set(arg.name, "");
      continue;
    }
    if (arg.enum && !arg.enum.includes(value)) {
      problems.push({
        path: arg.name,
        message: `must be one of ${arg.enum.map((e) => JSON.stringify(e)).join(", ")}; got ${JSON.stringify(value)}`,
      });
      continue;
    }
    resolved.set(arg.name, value);
  }
  if (problems.length > 0) {
    throw new PromptArgumentError(
      `invalid arguments for prompt "${prompt.name}": ${problems.map((p) => `"${p.path}": ${p.message}`).join("; ")}`,
      problems,
    );
  }
  return resolved;
}

/**
 * Renders a prompt with argument values into an MCP `GetPromptResult`. Throws `PromptArgumentError`
 * (-32602) for bad values and `PromptTemplateError` (-32603) for an unrenderable template.
 */
export function renderPrompt(prompt: PromptTemplate, values: Record<string, string>): GetPromptResult {
  const resolved = resolveArguments(prompt, values);
  const fill = (template: string): string => {
    // Fast path: no `{{` (nor `\{{`) means nothing to substitute or unescape; large base64 payloads
    // (image data, resource blobs) take it and never enter the parse cache.
    if (!template.includes("{{")) return template;
    let text = "";
    for (const segment of segmentsOf(template)) {
      if ("literal" in segment) {
        text += segment.literal;
        continue;
      }
      const value = resolved.get(segment.argument);
      if (value === undefined) {
        throw new PromptTemplateError(
          `prompt "${prompt.name}" uses {{${segment.argument}}}, which it does not declare as an argument`,
        );
      }
      text += value;
    }
    return text;
  };
  const messages = prompt.messages.map((message) => ({
    role: message.role,
    content: message.content
      ? fillContent(message.content, fill)
      : { type: "text" as const, text: fill(message.text) },
  }));
  return prompt.description === undefined ? { messages } : { description: prompt.description, messages };
}

/** The most values one `completion/complete` answer carries (the specification's limit). */
const MAX_COMPLETIONS = 100;

/** A `completion/complete` result's `completion`. */
export interface Completion {
  values: string[];
  total: number;
  hasMore: boolean;
}

/** Every known (enum) value of an argument starting with `prefix`, case-insensitive, in declared order. */
export function matchingValues(argument: PromptArgument | undefined, prefix: string): string[] {
  const needle = prefix.toLowerCase();
  return (argument?.enum ?? []).filter((value) => value.toLowerCase().startsWith(needle));
}

/** The answer for these matches: the first 100, their total, and whether more remain. */
export function completion(values: readonly string[]): Completion {
  const page = values.slice(0, MAX_COMPLETIONS);
  return { values: page, total: values.length, hasMore: values.length > page.length };
}

/** Known (enum) values of an argument starting with `prefix` (case-insensitive), at most 100. */
export function completeArgument(argument: PromptArgument, prefix: string): string[] {
  return completion(matchingValues(argument, prefix)).values;
}
