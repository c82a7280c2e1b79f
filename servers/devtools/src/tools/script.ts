import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import { ElementArg, resolveElement } from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
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
const IncludePreserved = v.optional(
  v.pipe(
    v.boolean(),
    v.description(
      "Also return entries of earlier pages of this tab (kept across navigations, up to 1000); default: only the current page's",
    ),
  ),
  false,
);
const Clear = v.optional(v.pipe(v.boolean(), v.description("Empty the buffer after reading")), false);

/**
 * Runs in the page on the result: a JSON-safe copy in which values JSON would lose are tagged. Cycles and
 * repeated objects become `{ $ref: path }` to where they were first seen.
 */
const READABLE_FN = `function () {
  const seen = new Map();
  const MAX_DEPTH = 12, MAX_KEYS = 200, MAX_ITEMS = 500;
  const describeNode = (n) => {
    if (n.nodeType === 1) {
      let d = n.tagName.toLowerCase();
      if (n.id) d += "#" + n.id;
      if (typeof n.className === "string" && n.className.trim()) d += "." + n.className.trim().split(/\\s+/).join(".");
      return d;
    }
    return n.nodeName;
  };
  const walk = (v, path, depth) => {
    const t = typeof v;
    if (v === null || t === "boolean" || t === "string") return v;
    if (t === "number") return Number.isFinite(v) ? (Object.is(v, -0) ? { $type: "number", value: "-0" } : v) : { $type: "number", value: String(v) };
    if (t === "undefined") return { $type: "undefined" };
    if (t === "bigint") return { $type: "BigInt", value: v.toString() };
    if (t === "symbol") return { $type: "Symbol", description: v.description ?? "" };
    if (t === "function") return { $type: "Function", name: v.name || "(anonymous)" };
    if (seen.has(v)) return { $ref: seen.get(v) };
    seen.set(v, path);
    if (v instanceof Date) return { $type: "Date", iso: Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString() };
    if (v instanceof RegExp) return { $type: "RegExp", source: String(v) };
    if (v instanceof Error) return { $type: "Error", name: v.name, message: v.message, stack: String(v.stack || "").split("\\n").slice(0, 10) };
    if (typeof Node !== "undefined" && v instanceof Node) {
      const out = { $type: v.nodeType === 1 ? "Element" : "Node", node: describeNode(v) };
      if (v.nodeType === 1) { const text = (v.textContent || "").replace(/\\s+/g, " ").trim(); if (text) out.text = text.slice(0, 100); }
      return out;
    }
    if (ArrayBuffer.isView(v)) {
      const items = v instanceof DataView ? [] : Array.from(v.slice(0, MAX_ITEMS), (x) => typeof x === "bigint" ? x.toString() : x);
      return { $type: v.constructor.name, length: v instanceof DataView ? v.byteLength : v.length, values: items };
    }
    if (v instanceof ArrayBuffer) return { $type: "ArrayBuffer", byteLength: v.byteLength };
    if (depth >= MAX_DEPTH) return { $type: "Truncated", kind: Array.isArray(v) ? "Array" : (v.constructor && v.constructor.name) || "Object" };
    if (v instanceof Map) {
      const entries = [];
      let i = 0;
      for (const [k, val] of v) { if (i >= MAX_ITEMS) break; entries.push([walk(k, path + ".<key " + i + ">", depth + 1), walk(val, path + ".<value " + i + ">", depth + 1)]); i++; }
      return { $type: "Map", size: v.size, entries };
    }
    if (v instanceof Set) {
      const values = [];
      let i = 0;
      for (const val of v) { if (i >= MAX_ITEMS) break; values.push(walk(val, path + "[" + i + "]", depth + 1)); i++; }
      return { $type: "Set", size: v.size, values };
    }
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) return { $type: v.constructor.name };
    if (typeof Promise !== "undefined" && v instanceof Promise) return { $type: "Promise" };
    if (Array.isArray(v)) {
      const out = v.slice(0, MAX_ITEMS).map((x, i) => walk(x, path + "[" + i + "]", depth + 1));
      if (v.length > MAX_ITEMS) out.push({ $type: "More", count: v.length - MAX_ITEMS });
      return out;
    }
    if (typeof window !== "undefined" && v === window) return { $type: "Window", url: location.href };
    const out = {};
    const proto = Object.getPrototypeOf(v);
    const name = proto && proto !== Object.prototype && proto.constructor && proto.constructor.name;
    if (name) out.$type = name;
    let n = 0;
    for (const key of Object.keys(v)) {
      if (n++ >= MAX_KEYS) { out.$more = Object.keys(v).length - MAX_KEYS; break; }
      let val;
      try { val = v[key]; } catch (e) { val = { $type: "Error", message: String(e) }; }
      out[key] = walk(val, path + "." + key, depth + 1);
    }
    return out;
  };
  return walk(this, "$", 0);
}`;

/** The value of a remote object, readable (see READABLE_FN); primitives as they are. */
async function readableValue(tab: Tab, remote: Protocol.Runtime.RemoteObject): Promise<unknown> {
  if (remote.type === "undefined") return undefined;
  if (!remote.objectId) {
    if (remote.unserializableValue !== undefined) {
      return remote.type === "bigint"
        ? { $type: "BigInt", value: remote.unserializableValue.replace(/n$/, "") }
        : { $type: "number", value: remote.unserializableValue };
    }
    return remote.value;
  }
  try {
    return await tab.callOn(remote.objectId, READABLE_FN);
  } finally {
    await tab.send("Runtime.releaseObject", { objectId: remote.objectId }).catch(() => undefined);
  }
}

export function scriptTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_evaluate",
      title: "Evaluate JavaScript",
      description:
        "Run JavaScript in the page and return its value (promises are awaited): an `expression`, or a `function` called with `args` (element refs or selectors as { element }, JSON values as { value }). Values come back readable: Date, Map, Set, BigInt, typed arrays, errors, DOM nodes and circular structures are tagged ({ $type: 'Date', iso: … }, { $ref: '$.a' }). A thrown exception is a tool error with its message.",
      input: v.object({
        expression: v.optional(
          v.pipe(
            v.string(),
            v.minLength(1, "expression must not be empty"),
            v.description("Expression, e.g. `document.title` or `(async () => { … })()`"),
          ),
        ),
        function: v.optional(
          v.pipe(
            v.string(),
            v.minLength(1, "function must not be empty"),
            v.description("Function source called with args, e.g. `(el, n) => el.textContent.repeat(n)`"),
          ),
        ),
        args: v.optional(
          v.pipe(
            v.array(
              v.union([v.strictObject({ element: ElementArg }), v.strictObject({ value: v.unknown() })]),
            ),
            v.maxLength(20, "at most 20 args"),
            v.description("Arguments of the function: { element: 'e12' } or { value: 42 }"),
          ),
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
        // Checked here rather than as a schema pipe: every DevTools input stays a plain object (the server
        // adds its `browser` argument to it), and a model gets a tool error it can correct.
        if ((args.expression === undefined) === (args.function === undefined)) {
          throw new ToolError("Give either expression or function (with args), not both");
        }
        if (args.args !== undefined && args.function === undefined) {
          throw new ToolError("args need a function: pass function with args, or expression alone");
        }
        const tab = await sessions.tab(ctx);
        let remote: Protocol.Runtime.RemoteObject;
        if (args.function !== undefined) {
          const callArgs: Protocol.Runtime.CallArgument[] = [];
          for (const arg of args.args ?? []) {
            callArgs.push(
              "element" in arg ? { objectId: await resolveElement(tab, arg.element) } : { value: arg.value },
            );
          }
          const global = await tab.send("Runtime.evaluate", { expression: "globalThis" });
          const globalId = global.result.objectId;
          if (!globalId) throw new ToolError("The page has no global object to call the function on");
          remote = await tab.script(
            tab.send("Runtime.callFunctionOn", {
              objectId: globalId,
              functionDeclaration: `async function (...args) { const fn = (${args.function}); if (typeof fn !== "function") throw new TypeError("function is not a function"); return await fn(...args); }`,
              arguments: callArgs,
              awaitPromise: true,
              userGesture: true,
            }),
          );
        } else {
          remote = await tab.script(
            tab.send("Runtime.evaluate", {
              expression: args.expression ?? "undefined",
              awaitPromise: true,
              userGesture: true,
            }),
          );
        }
        const value = await readableValue(tab, remote);
        const json = value === undefined ? "undefined" : JSON.stringify(value);
        return {
          content: [{ type: "text", text: truncate(json, args.maxChars) }],
          structuredContent: { type: remote.type, value: value ?? null },
        };
      },
    }),
    defineTool({
      name: "chrome_console_messages",
      title: "Console messages",
      description:
        "Console output of the current page (console.* calls with each argument previewed, e.g. {build: 42}, stack traces for errors, and browser messages such as failed loads), oldest first; includePreserved adds earlier pages of the tab.",
      input: v.object({
        level: v.optional(
          v.pipe(v.picklist(["log", "debug", "info", "warn", "error"]), v.description("Only this level")),
        ),
        includePreserved: IncludePreserved,
        limit: Limit,
        clear: Clear,
      }),
      annotations: Effect.readAgain,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const messages = tab.console
          .filter((m) => args.includePreserved || m.navigation === tab.navigations)
          .filter((m) => !args.level || m.level === args.level)
          .slice(-args.limit);
        if (args.clear) tab.console.length = 0;
        return result(`${messages.length} console message(s)`, { messages });
      },
    }),
    defineTool({
      name: "chrome_page_errors",
      title: "Page errors",
      description:
        "Uncaught exceptions and unhandled promise rejections of the current page, with stack traces, oldest first; includePreserved adds earlier pages of the tab.",
      input: v.object({ includePreserved: IncludePreserved, limit: Limit, clear: Clear }),
      annotations: Effect.readAgain,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const errors = tab.errors
          .filter((e) => args.includePreserved || e.navigation === tab.navigations)
          .slice(-args.limit);
        if (args.clear) tab.errors.length = 0;
        return result(`${errors.length} uncaught error(s)`, { errors });
      },
    }),
  ];
}
