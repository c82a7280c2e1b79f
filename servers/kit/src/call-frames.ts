/**
 * The frames of the call socket (`GET /rpc/socket`, a WebSocket): the gateway's tool calls to one domain
 * server instance, many at a time on one connection, each answered by the same events as
 * `POST /rpc/tools/call` (`ToolCallEvent`: `accepted`, progress/log/request, one terminal event).
 *
 * A frame is two lines: a head of space-separated tokens, and a payload (a JSON document passed through
 * untouched, never wrapped in another object, so it is serialised and parsed once; JSON text never holds
 * a raw newline). A WebSocket message carries one or more frames joined by newlines: the frames written
 * in one turn of the event loop go out as one message (`FrameWriter`), one write instead of one per call.
 *
 * - gateway → server `c <n>[ <traceparent>[ <tracestate>]]` / `<ToolCallRequest>`: start call `n`.
 * - gateway → server `x <n>` / empty: cancel call `n` (its `ctx.signal` aborts).
 * - server → gateway `e <n>` / `<ToolCallEvent>`: an event of call `n`; a terminal event ends it.
 * - server → gateway `f <n> <status>` / `<message>`: call `n` was refused before it ran, with the status
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
const NEWLINES = /[\r\n]+/g;

export function callFrame(n: number, body: string, trace?: FrameTrace): string {
  const parent = trace?.traceparent?.replace(SPACE, "");
  if (!parent) return `c ${n}\n${body}`;
  const state = trace?.tracestate?.replace(SPACE, "");
  return state ? `c ${n} ${parent} ${state}\n${body}` : `c ${n} ${parent}\n${body}`;
}

export function cancelFrame(n: number): string {
  return `x ${n}\n`;
}

export function eventFrame(n: number, event: string): string {
  return `e ${n}\n${event}`;
}

export function failureFrame(n: number, status: number, message: string): string {
  return `f ${n} ${status}\n${message.replace(NEWLINES, " ")}`;
}

/** A frame as read: its kind, call number, the other head tokens and its payload line. */
export interface Frame {
  kind: string;
  n: number;
  tokens: string[];
  payload: string;
}

/**
 * Reads the frames of one message; null when it is not well formed (an odd number of lines, or a head
 * without a one-letter kind and a positive integer call number).
 */
export function readFrames(text: string): Frame[] | null {
  const frames: Frame[] = [];
  let at = 0;
  while (at <= text.length) {
    const headEnd = text.indexOf("\n", at);
    if (headEnd === -1) return null;
    let payloadEnd = text.indexOf("\n", headEnd + 1);
    if (payloadEnd === -1) payloadEnd = text.length;
    const head = text.slice(at, headEnd);
    if (head.length > 1024) return null;
    const tokens = head.split(" ");
    const kind = tokens[0] ?? "";
    const n = Number(tokens[1]);
    if (kind.length !== 1 || !Number.isSafeInteger(n) || n <= 0) return null;
    frames.push({ kind, n, tokens: tokens.slice(2), payload: text.slice(headEnd + 1, payloadEnd) });
    at = payloadEnd + 1;
  }
  return frames;
}

/**
 * Frames written during one turn of the event loop, sent together as one message when the turn ends
 * (`setImmediate`): under load many calls start (or finish) in the same turn, and each WebSocket send is
 * a write to the socket. A frame is never held longer than that turn.
 */
export class FrameWriter {
  private queue: string[] = [];
  private scheduled = false;

  /** `send` writes one message. */
  constructor(private readonly send: (message: string) => void) {}

  write(frame: string): void {
    this.queue.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Sends what is queued now (also called by the timer). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const message = this.queue.length === 1 ? (this.queue[0] as string) : this.queue.join("\n");
    this.queue = [];
    this.send(message);
  };

  /** Forgets what is queued (the connection closed). */
  clear(): void {
    this.queue = [];
  }
}
