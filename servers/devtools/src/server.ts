import type { CallToolResult } from "@omni/contracts";
import {
  type ResourceContext,
  type ResourceDefinition,
  type ServerDefinition,
  type ToolContext,
  type ToolDefinition,
  ToolError,
  type ToolReturn,
} from "@omni/kit";
import * as v from "valibot";
import { artifactResources } from "./artifacts.ts";
import { BrowserHost } from "./browser.ts";
import { defaultResources, description, prompts } from "./catalogue.ts";
import { CONNECTION_CLOSED } from "./cdp.ts";
import { type DevtoolsOptions, readOptions } from "./config.ts";
import { BROWSER_ID, type Caller, type CallTrack, type Session, SessionManager } from "./sessions.ts";
import { contentTools } from "./tools/content.ts";
import { cssTools } from "./tools/css.ts";
import { emulationTools } from "./tools/emulation.ts";
import { inputTools } from "./tools/input.ts";
import { lighthouseTools } from "./tools/lighthouse.ts";
import { memoryTools } from "./tools/memory.ts";
import { navigationTools } from "./tools/navigation.ts";
import { networkTools } from "./tools/network.ts";
import { outputTools } from "./tools/output.ts";
import { performanceTools } from "./tools/performance.ts";
import { screencastTools } from "./tools/screencast.ts";
import { scriptTools } from "./tools/script.ts";
import { storageTools } from "./tools/storage.ts";
import { styleTools } from "./tools/styles.ts";
import { listTabs, tabTools } from "./tools/tabs.ts";

const VERSION = "0.1.0";

function summaryOf(out: ToolReturn): string {
  if (typeof out === "string") return out.slice(0, 500);
  const blocks = Array.isArray(out) ? out : out.content;
  const text = blocks.find((b) => b.type === "text");
  return text && text.type === "text" ? text.text.slice(0, 500) : `${blocks.length} content block(s)`;
}

/** The `browser` argument every tool takes (added here, so tool files need not declare it). */
const BrowserArg = v.optional(
  v.pipe(
    v.string(),
    v.regex(
      BROWSER_ID,
      "browser must be a browser id returned by chrome_start_browser (br_ and 24 characters)",
    ),
    v.description(
      "The browser id chrome_start_browser returned. Required for clients without an MCP session (2026-07-28, stateless); optional in an MCP session, which has its own browser.",
    ),
  ),
);

type AnyObjectSchema = v.ObjectSchema<v.ObjectEntries, v.ErrorMessage<v.ObjectIssue> | undefined>;

function isObjectSchema(schema: unknown): schema is AnyObjectSchema {
  return (
    typeof schema === "object" &&
    schema !== null &&
    "type" in schema &&
    schema.type === "object" &&
    "entries" in schema &&
    !("pipe" in schema)
  );
}

/**
 * The tool's input with the `browser` argument added. A tool input is a `v.object(...)`, or a
 * `v.pipe(v.object(...), ...checks)` whose checks are kept after the extended object.
 */
function withBrowserArg(tool: ToolDefinition): ToolDefinition["input"] {
  const input = tool.input;
  const [root, ...actions]: unknown[] = "pipe" in input && Array.isArray(input.pipe) ? input.pipe : [input];
  if (!isObjectSchema(root)) {
    throw new Error(
      `DevTools tool ${tool.name}: its input must be a v.object(...) (or a v.pipe starting with one)`,
    );
  }
  const extended = v.object({ ...root.entries, browser: BrowserArg }, root.message);
  if (actions.length === 0) return extended;
  // The tool's own checks, re-applied to the extended object (valibot types pipes item by item).
  const pipe = v.pipe as unknown as (...items: unknown[]) => ToolDefinition["input"];
  return pipe(extended, ...actions);
}

/** A tool's output with notes (e.g. an evicted context) appended as text. */
function withNotes(out: ToolReturn, notes: string[]): ToolReturn {
  if (notes.length === 0) return out;
  const note = { type: "text" as const, text: notes.join("\n") };
  if (typeof out === "string") return `${out}\n${note.text}`;
  if (Array.isArray(out)) return [...out, note];
  return { ...out, content: [...out.content, note] };
}

/**
 * Wrap a tool: take its `browser` argument (which context the call uses), track the contexts the call
 * uses (busy ones are never evicted), record its outcome in the session's results, add notes (an evicted
 * context) to its result, and turn CDP failures into tool errors.
 */
function instrument(tool: ToolDefinition, sessions: SessionManager): ToolDefinition {
  return {
    ...tool,
    input: withBrowserArg(tool),
    async handler(input, ctx) {
      const { browser, ...args } = input as { browser?: string; [name: string]: unknown };
      const call: CallTrack = { sessions: new Set(), notes: [] };
      const caller: ToolContext & Caller = { ...ctx, browser, call };
      const at = new Date().toISOString();
      const record = (ok: boolean, summary: string) =>
        sessions.peek(caller)?.record({ tool: tool.name, ok, at, summary });
      try {
        const out = await tool.handler(args, caller);
        const isError =
          typeof out === "object" && !Array.isArray(out) && (out as CallToolResult).isError === true;
        record(!isError, summaryOf(out));
        return withNotes(out, call.notes);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        record(false, message);
        const notes = call.notes.length ? `\n${call.notes.join("\n")}` : "";
        if (err instanceof ToolError) throw new ToolError(`${message}${notes}`);
        if (ctx.signal.aborted) throw new ToolError("The call was cancelled");
        if (message === CONNECTION_CLOSED) {
          throw new ToolError(
            "Chromium went away during the call (it crashed or was stopped); it is being restarted",
          );
        }
        throw new ToolError(`Chrome reported: ${message}${notes}`);
      } finally {
        sessions.release(call);
      }
    },
  };
}

function json(uri: string, data: unknown) {
  return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(data, null, 2) }] };
}

function resources(sessions: SessionManager): ResourceDefinition[] {
  const current = (ctx: ResourceContext): Session | undefined => sessions.peek(ctx);
  return [
    {
      uri: "devtools://tabs",
      name: "tabs",
      title: "Browser tabs",
      description: "This session's browser state: browser status and open tabs.",
      mimeType: "application/json",
      async read(ctx) {
        const session = current(ctx);
        return json("devtools://tabs", {
          browser: { state: sessions.host.state, version: sessions.host.version ?? null },
          tabs: session ? await listTabs(session) : [],
        });
      },
    },
    {
      uri: "devtools://console",
      name: "console",
      title: "Console",
      description: "Console messages and uncaught errors of this session's current tab.",
      mimeType: "application/json",
      read(ctx) {
        const tab = current(ctx)?.currentTab;
        return json("devtools://console", {
          url: tab?.url ?? null,
          messages: tab?.console.slice(-200) ?? [],
          errors: tab?.errors.slice(-100) ?? [],
        });
      },
    },
    {
      uri: "devtools://results/latest",
      name: "results-latest",
      title: "Latest automation results",
      description: "Outcome of this session's most recent browser tool calls (latest first).",
      mimeType: "application/json",
      read(ctx) {
        const results = [...(current(ctx)?.results ?? [])].reverse();
        return json("devtools://results/latest", { latest: results[0] ?? null, recent: results });
      },
    },
  ];
}

/** The DevTools domain server: 50+ browser tools over one shared Chromium, one browser context per session. */
export function createDevtoolsServer(
  options: DevtoolsOptions = readOptions(),
  /** The browser to drive (an entry may have started launching it already); a new one by default. */
  host: BrowserHost = new BrowserHost(options),
): ServerDefinition & {
  sessions: SessionManager;
} {
  const sessions = new SessionManager(host, options);
  const tools = [
    ...tabTools(sessions),
    ...navigationTools(sessions),
    ...contentTools(sessions),
    ...inputTools(sessions),
    ...outputTools(sessions),
    ...scriptTools(sessions),
    ...networkTools(sessions),
    ...storageTools(sessions),
    ...emulationTools(sessions),
    ...performanceTools(sessions),
    ...memoryTools(sessions),
    ...styleTools(sessions),
    ...cssTools(sessions),
    ...lighthouseTools(sessions),
    ...screencastTools(sessions),
  ].map((tool) => instrument(tool, sessions));
  return {
    name: "devtools",
    version: VERSION,
    title: "Chrome DevTools",
    description,
    instructions:
      "Browser automation and debugging over Chrome DevTools. Each MCP session has its own private browser context. Start with chrome_navigate, read the page with chrome_snapshot (refs like e12 work in chrome_click/chrome_type/chrome_fill_form), debug with chrome_console_messages, chrome_list_requests, chrome_start_trace/chrome_stop_trace and heap snapshots.",
    tools,
    resources: resources(sessions),
    resourceTemplates: artifactResources(sessions),
    prompts,
    defaultResources,
    sessions,
    async health() {
      const problem = host.executableProblem();
      if (problem) return { status: "down", details: { error: problem } };
      const details = {
        browser: host.state,
        version: host.version ?? null,
        sessions: sessions.size,
        restarts: host.restarts,
        ...(host.lastError ? { lastError: host.lastError } : {}),
      };
      if (host.state === "unavailable") return { status: "down", details };
      if (host.state === "crashed") return { status: "degraded", details };
      return { status: "ok", details };
    },
    standaloneConfig: () => ({
      settings: options.standaloneAllowPrivateNetwork ? { allowPrivateNetwork: true } : {},
      credentials: {},
    }),
    async onSessionEnd(sessionKey, orgId) {
      await sessions.endClient({ sessionKey, org: { orgId } });
    },
    browserContexts: {
      list: (orgId) => sessions.list(orgId),
      end: (orgId, id) => sessions.end(orgId, id),
      count: () => sessions.size,
    },
    async close() {
      await sessions.close();
    },
  };
}
