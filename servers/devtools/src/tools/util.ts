import type { CallToolResult } from "@omni/contracts";
import * as v from "valibot";

/** A tool result: a one-line summary for the model, the data as JSON text and as structured content. */
export function result(summary: string, data?: Record<string, unknown>): CallToolResult {
  if (!data) return { content: [{ type: "text", text: summary }] };
  return {
    content: [{ type: "text", text: `${summary}\n${JSON.stringify(data, null, 2)}` }],
    structuredContent: data,
  };
}

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
