import type { TerminalEvent } from "../runner.ts";
import { CollectedMetric, LabelledHistogram } from "./metrics.ts";

/** A terminal event's outcome label: ok, tool_error (`isError: true`), input_required or error. */
export function outcomeOf(event: TerminalEvent): string {
  if (event.type === "result") return event.result.isError === true ? "tool_error" : "ok";
  return event.type;
}

/**
 * `omni_server_tool_call_duration_seconds{server,tool,era,outcome}`: every tool call a domain server runs
 * (RPC from the gateway, its own `/mcp`, stdio). `era` is `2025` for live calls (a 2025 session: requests
 * to the client answered while the tool runs) and `2026-07-28` otherwise; `tool` is `unknown` for names
 * the server does not have (bounded cardinality). `_count` is the number of calls.
 */
export const toolCallDurations = new LabelledHistogram(
  "omni_server_tool_call_duration_seconds",
  "Tool calls run by this domain server, by server, tool, era and outcome (seconds)",
  ["server", "tool", "era", "outcome"],
);

/** What one kit app reports at scrape time: its running calls and browser contexts. */
export interface ServerGauges {
  server: string;
  inflight(): number;
  browserContexts?: (() => number) | undefined;
}

export const toolCallsInFlight = new CollectedMetric<ServerGauges>(
  "omni_server_tool_calls_in_flight",
  "Tool calls running on this domain server now",
  "gauge",
  (s) => [[{ server: s.server }, s.inflight()]],
);

export const browserContexts = new CollectedMetric<ServerGauges>(
  "omni_server_browser_contexts",
  "Browser contexts held by this domain server (DevTools: one per MCP session or chrome_start_browser)",
  "gauge",
  (s) => (s.browserContexts ? [[{ server: s.server }, s.browserContexts()]] : []),
);
