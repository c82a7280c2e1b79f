import { defineTool, type ToolDefinition } from "@omni/kit";
import * as v from "valibot";
import type { SessionManager } from "../sessions.ts";
import { Effect, result, truncate } from "./util.ts";

const Limit = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(1),
    v.maxValue(1000),
    v.description("Most recent entries to return (default 100)"),
  ),
  100,
);
const Clear = v.optional(v.pipe(v.boolean(), v.description("Empty the buffer after reading")), false);

export function scriptTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_evaluate",
      title: "Evaluate JavaScript",
      description:
        "Run a JavaScript expression in the page (promises are awaited) and return its JSON-serialisable value. A thrown exception is a tool error with its message.",
      input: v.object({
        expression: v.pipe(
          v.string(),
          v.minLength(1, "expression must not be empty"),
          v.description("Expression, e.g. `document.title` or `(async () => { … })()`"),
        ),
        maxChars: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(100),
            v.description("Cut the JSON after this many characters (default 20000)"),
          ),
          20_000,
        ),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const out = await tab.evaluate(args.expression, { userGesture: true });
        const value = out.type === "undefined" ? undefined : (out.unserializableValue ?? out.value);
        const json = value === undefined ? "undefined" : JSON.stringify(value);
        return {
          content: [{ type: "text", text: truncate(json, args.maxChars) }],
          structuredContent: { type: out.type, value: value ?? null },
        };
      },
    }),
    defineTool({
      name: "chrome_console_messages",
      title: "Console messages",
      description:
        "Console output of the current tab (console.* calls and browser messages such as failed loads), oldest first.",
      input: v.object({
        level: v.optional(
          v.pipe(v.picklist(["log", "debug", "info", "warn", "error"]), v.description("Only this level")),
        ),
        limit: Limit,
        clear: Clear,
      }),
      annotations: Effect.readAgain,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const messages = tab.console.filter((m) => !args.level || m.level === args.level).slice(-args.limit);
        if (args.clear) tab.console.length = 0;
        return result(`${messages.length} console message(s)`, { messages });
      },
    }),
    defineTool({
      name: "chrome_page_errors",
      title: "Page errors",
      description: "Uncaught exceptions and unhandled promise rejections of the current tab, oldest first.",
      input: v.object({ limit: Limit, clear: Clear }),
      annotations: Effect.readAgain,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const errors = tab.errors.slice(-args.limit);
        if (args.clear) tab.errors.length = 0;
        return result(`${errors.length} uncaught error(s)`, { errors });
      },
    }),
  ];
}
