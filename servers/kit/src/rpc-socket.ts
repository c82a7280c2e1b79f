import { ToolCallRequest } from "@omni/contracts";
import * as v from "valibot";
import { eventFrame, type Frame, FrameWriter, failureFrame, readFrames } from "./call-frames.ts";
import { type CallRegistry, RpcToolCall } from "./rpc-call.ts";
import type { CompiledServer } from "./runner.ts";

/** What the server side needs of one WebSocket connection (Bun's `ServerWebSocket`). */
export interface FrameSocket {
  /** Bytes sent, -1 when queued behind backpressure, 0 when dropped (the connection is going away). */
  send(data: string): number;
  close(code?: number, reason?: string): void;
}

export interface CallSocketDeps {
  server: CompiledServer;
  registry: CallRegistry;
  /** Every running call of the app (graceful shutdown waits for them). */
  running: Set<RpcToolCall>;
}

/** WebSocket close codes used here. */
const PROTOCOL_ERROR = 1002;
const GOING_AWAY = 1001;
const OVERLOADED = 1013;

/** The first issue of a refused call body, naming its field (bounded). */
function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "Invalid tool call body";
  const path = issue.path?.map((item) => String(item.key)).join(".");
  return `Invalid tool call body: ${path ? `${path}: ` : ""}${issue.message}`.slice(0, 300);
}

/**
 * One gateway connection to the call socket (`call-frames.ts`), server side: each call frame runs one tool
 * call (validated as `POST /rpc/tools/call` validates its body) and its events go back as event frames;
 * a cancel frame or the connection closing cancels the connection's calls. Stopping (`drain`) refuses new
 * calls with 503 and closes the connection once its calls finished.
 */
export class SocketCalls {
  private readonly calls = new Map<number, RpcToolCall>();
  private draining = false;
  private readonly writer: FrameWriter;

  constructor(
    private readonly socket: FrameSocket,
    private readonly deps: CallSocketDeps,
  ) {
    this.writer = new FrameWriter((message) => {
      // Dropped (over the backpressure limit): the gateway must not wait for events that never come.
      if (this.socket.send(message) === 0) {
        this.socket.close(OVERLOADED, "Call socket backpressure limit reached");
      }
    });
  }

  /** One message: its frames in order; a malformed one closes the connection (as a protocol error). */
  message(text: unknown): void {
    const frames = typeof text === "string" ? readFrames(text) : null;
    if (!frames?.every((frame) => frame.kind === "c" || frame.kind === "x")) {
      this.socket.close(PROTOCOL_ERROR, "Malformed call socket frame");
      return;
    }
    for (const frame of frames) this.frame(frame);
  }

  private frame(frame: Frame): void {
    const { n } = frame;
    if (frame.kind === "x") {
      this.calls.get(n)?.cancel("The client cancelled the call");
      return;
    }
    const refusal = this.calls.has(n)
      ? { status: 400, message: `Call number ${n} is already running on this connection` }
      : this.draining
        ? { status: 503, message: "The server is shutting down; call another instance" }
        : undefined;
    if (refusal) {
      this.refuse(n, refusal.status, refusal.message);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(frame.payload);
    } catch {
      this.refuse(n, 400, "The tool call body is not valid JSON");
      return;
    }
    const parsed = v.safeParse(ToolCallRequest, raw);
    if (!parsed.success) {
      this.refuse(n, 422, issueText(parsed.issues));
      return;
    }
    const [traceparent, tracestate] = frame.tokens;
    const call = new RpcToolCall(
      parsed.output,
      this.deps.registry,
      traceparent ? { traceparent, tracestate } : undefined,
    );
    this.calls.set(n, call);
    call.start(this.deps.server, this.deps.running, (event, last) => {
      this.writer.write(eventFrame(n, event));
      if (!last) return;
      this.calls.delete(n);
      if (this.draining && this.calls.size === 0) this.closeWhenSent();
    });
  }

  /** The connection closed: its running calls are cancelled (as a closed HTTP request cancels its call). */
  closed(): void {
    this.writer.clear();
    for (const call of this.calls.values()) call.cancel("The client cancelled the call");
    this.calls.clear();
  }

  /** Graceful shutdown: no new calls; the connection closes when its running calls have finished. */
  drain(): void {
    this.draining = true;
    if (this.calls.size === 0) this.closeWhenSent();
  }

  private closeWhenSent(): void {
    this.writer.flush();
    this.socket.close(GOING_AWAY, "The server is shutting down");
  }

  private refuse(n: number, status: number, message: string): void {
    this.writer.write(failureFrame(n, status, message));
  }
}
