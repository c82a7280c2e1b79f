import type { CallToolResult, ToolAnnotations } from "@omni/contracts";
import * as v from "valibot";

/** A tool result: a one-line summary for the model, the data as JSON text and as structured content. */
export function result(summary: string, data?: Record<string, unknown>): CallToolResult {
  if (!data) return { content: [{ type: "text", text: summary }] };
  return {
    content: [{ type: "text", text: `${summary}\n${JSON.stringify(data, null, 2)}` }],
    structuredContent: data,
  };
}

/** MCP tool annotations, one per kind of effect a tool has (every tool names its kind here). */
export const Effect = {
  /** Reads state; asking again gives the same answer. */
  read: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  /** Reads state, but asking again may answer differently (a buffer it may clear, a new snapshot). */
  readAgain: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  /** Sets state to given values: repeating it changes nothing more. */
  set: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  /** Acts inside the session; repeating it acts again. */
  act: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  /** Acts on the page, which may reach the web (clicks, typing, scripts, history); repeating it acts again. */
  actOnWeb: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  /** Loads a given page from the web: repeating it loads the same page. */
  load: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  /** Discards state; repeating it discards nothing more. */
  discard: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  /** Discards something each time (a tab). */
  discardAgain: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
} as const satisfies Record<string, ToolAnnotations>;

export const TimeoutArg = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(0),
    v.maxValue(120_000),
    v.description("Longest wait in milliseconds (default 30000, at most 120000)"),
  ),
);

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
