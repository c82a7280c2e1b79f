/**
 * The frames of the call socket (`GET /rpc/socket`, a WebSocket): the gateway's tool calls to one domain
 * server instance, many at a time on one connection, each answered by the same events as
 * `POST /rpc/tools/call` (`ToolCallEvent`: `accepted`, progress/log/request, one terminal event).
 *
 * Every frame is one text message: a head line of space-separated tokens, then (for most kinds) a
 * newline and a JSON document that is passed through untouched (never wrapped in another object, so it
 * is serialised and parsed once).
 *
 * - gateway → server `c <n>[ <traceparent>[ <tracestate>]]\n<ToolCallRequest>`: start call `n`.
 * - gateway → server `x <n>`: cancel call `n` (its `ctx.signal` aborts).
 * - server → gateway `e <n>\n<ToolCallEvent>`: an event of call `n`; a terminal event ends it.
 * - server → gateway `f <n> <status>\n<message>`: call `n` was refused before it ran, with the status
 *   and message `POST /rpc/tools/call` would have answered (422 invalid body, 503 shutting down).
 *
 * Heads begin with a letter, so a framework that JSON-parses text messages starting with `{` or `[`
 * leaves them alone. `n` is a positive integer chosen by the gateway, unique on its connection.
 */

export const CALL_SOCKET_PATH = "/rpc/socket";

/** The trace context of a call (W3C `traceparent` / `tracestate`). */
export interface FrameTrace {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** Tokens of a head may not contain spaces or newlines; `tracestate` allows optional spaces after commas. */
const SPACE = /\s+/g;

export function callFrame(n: number, body: string, trace?: FrameTrace): string {
  const parent = trace?.traceparent?.replace(SPACE, "");
  if (!parent) return `c ${n}\n${body}`;
  const state = trace?.tracestate?.replace(SPACE, "");
  return state ? `c ${n} ${parent} ${state}\n${body}` : `c ${n} ${parent}\n${body}`;
}

export function cancelFrame(n: number): string {
  return `x ${n}`;
}

export function eventFrame(n: number, event: string): string {
  return `e ${n}\n${event}`;
}

export function failureFrame(n: number, status: number, message: string): string {
  return `f ${n} ${status}\n${message}`;
}

/** A frame as read: its kind, call number, the other head tokens and the text after the head line. */
export interface Frame {
  kind: string;
  n: number;
  tokens: string[];
  payload: string;
}

/** Reads a frame; null when it is not one (no kind, or no positive integer call number). */
export function readFrame(text: string): Frame | null {
  const newline = text.indexOf("\n");
  const head = newline === -1 ? text : text.slice(0, newline);
  if (head.length > 1024) return null;
  const tokens = head.split(" ");
  const kind = tokens[0] ?? "";
  const n = Number(tokens[1]);
  if (kind.length !== 1 || !Number.isSafeInteger(n) || n <= 0) return null;
  return { kind, n, tokens: tokens.slice(2), payload: newline === -1 ? "" : text.slice(newline + 1) };
}
