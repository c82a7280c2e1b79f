import { createInterface } from "node:readline/promises";
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/sdk/types.js";

type ElicitParams = ElicitRequest["params"];
type Answer = string | number | boolean | string[];

/** One question at a time on the terminal; null when the user ends the input (Ctrl-D). */
export interface Asker {
  question(prompt: string): Promise<string | null>;
  close(): void;
}

export interface ElicitOptions {
  /** `--elicit-json`: accept every elicitation with this content, without asking. */
  preset?: Record<string, unknown> | undefined;
  /** Whether a person can answer (stdin and stderr are a terminal). */
  interactive: boolean;
  /** The terminal's asker (tests pass a scripted one). */
  asker: () => Asker;
  /** Where messages go (stderr: stdout stays the tool's result). */
  write: (text: string) => void;
}

/** Readline on stdin, prompts on stderr. */
export function terminalAsker(): Asker {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let closed = false;
  const ended = new Promise<null>((resolve) =>
    rl.once("close", () => {
      closed = true;
      resolve(null);
    }),
  );
  return {
    question: (prompt) => (closed ? Promise.resolve(null) : Promise.race([rl.question(prompt), ended])),
    close: () => rl.close(),
  };
}

interface Field {
  type?: string;
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  oneOf?: { const?: unknown; title?: string }[];
  items?: { enum?: unknown[]; anyOf?: { const?: unknown }[] };
  minimum?: number;
  maximum?: number;
}

const choicesOf = (field: Field): string[] | null => {
  const values = field.enum ?? field.oneOf?.map((option) => option.const);
  return values ? values.map(String) : null;
};

/** Parses one typed answer for a field: the value, or a message saying what is expected. */
export function parseAnswer(field: Field, raw: string): { value: Answer } | { problem: string } {
  const choices = choicesOf(field);
  if (choices) {
    const byIndex = /^\d+$/.test(raw) ? choices[Number(raw) - 1] : undefined;
    const value = choices.includes(raw) ? raw : byIndex;
    return value === undefined ? { problem: `one of ${choices.join(", ")}` } : { value };
  }
  switch (field.type) {
    case "boolean": {
      const yes = /^(y|yes|true|1)$/i.test(raw);
      if (!yes && !/^(n|no|false|0)$/i.test(raw)) return { problem: "yes or no" };
      return { value: yes };
    }
    case "number":
    case "integer": {
      const value = Number(raw);
      if (!Number.isFinite(value) || (field.type === "integer" && !Number.isInteger(value))) {
        return { problem: field.type === "integer" ? "a whole number" : "a number" };
      }
      if (field.minimum !== undefined && value < field.minimum)
        return { problem: `at least ${field.minimum}` };
      if (field.maximum !== undefined && value > field.maximum)
        return { problem: `at most ${field.maximum}` };
      return { value };
    }
    case "array": {
      const allowed = (field.items?.enum ?? field.items?.anyOf?.map((o) => o.const))?.map(String);
      const values = raw
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
      const bad = allowed ? values.find((value) => !allowed.includes(value)) : undefined;
      return bad === undefined
        ? { value: values }
        : { problem: `comma-separated values of ${allowed?.join(", ")}` };
    }
    default:
      return { value: raw };
  }
}

function hint(field: Field, required: boolean): string {
  const parts: string[] = [];
  const choices = choicesOf(field);
  if (choices) parts.push(choices.map((choice, i) => `${i + 1}) ${choice}`).join(" "));
  else if (field.type === "boolean") parts.push("y/n");
  else if (field.type === "number" || field.type === "integer") parts.push(field.type);
  else if (field.type === "array") parts.push("comma-separated");
  if (field.default !== undefined) parts.push(`default ${String(field.default)}`);
  else if (!required) parts.push("optional");
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

/**
 * Answers a server's elicitation for `omni call`: the `--elicit-json` content when given; else, on a
 * terminal, one prompt per requested field (typed by the schema, re-asked until valid; `!decline`
 * declines, Ctrl-D cancels; a URL request shows its URL and waits for Enter); else it declines, saying
 * how to answer next time.
 */
export async function answerElicitation(params: ElicitParams, opts: ElicitOptions): Promise<ElicitResult> {
  if (opts.preset) return { action: "accept", content: opts.preset as Record<string, Answer> };
  const isUrl = "mode" in params && params.mode === "url";
  if (!opts.interactive) {
    const fields = isUrl ? [] : Object.keys(formSchema(params).properties ?? {});
    opts.write(
      `the tool asks: ${params.message}\ndeclined: no terminal to answer on` +
        (fields.length > 0
          ? `; answer with --elicit-json '{${fields.map((f) => `"${f}": …`).join(", ")}}'\n`
          : "; run omni call on a terminal\n"),
    );
    return { action: "decline" };
  }
  const asker = opts.asker();
  try {
    opts.write(`the tool asks: ${params.message}  (!decline declines, Ctrl-D cancels)\n`);
    if (isUrl) {
      opts.write(`open ${"url" in params ? String(params.url) : ""}\n`);
      const done = await asker.question("press Enter when done: ");
      if (done === null) return { action: "cancel" };
      return done.trim() === "!decline" ? { action: "decline" } : { action: "accept" };
    }
    const schema = formSchema(params);
    const required = new Set(schema.required ?? []);
    const content: Record<string, Answer> = {};
    for (const [name, field] of Object.entries(schema.properties ?? {})) {
      for (;;) {
        const label = field.title ?? name;
        const raw = await asker.question(`${label}${hint(field, required.has(name))}: `);
        if (raw === null) return { action: "cancel" };
        const text = raw.trim();
        if (text === "!decline") return { action: "decline" };
        if (text === "") {
          if (field.default !== undefined) {
            content[name] = field.default as Answer;
            break;
          }
          if (!required.has(name)) break;
          opts.write(`${label} is required\n`);
          continue;
        }
        const parsed = parseAnswer(field, text);
        if ("value" in parsed) {
          content[name] = parsed.value;
          break;
        }
        opts.write(`${label}: expected ${parsed.problem}\n`);
      }
    }
    return { action: "accept", content };
  } finally {
    asker.close();
  }
}

function formSchema(params: ElicitParams): { properties?: Record<string, Field>; required?: string[] } {
  return "requestedSchema" in params
    ? (params.requestedSchema as { properties?: Record<string, Field>; required?: string[] })
    : {};
}
