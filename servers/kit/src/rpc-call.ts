import {
  type ClientRequestMethod,
  ErrorCode,
  type InputRequest,
  type JsonRpcErrorObject,
  type ToolCallEvent,
  type ToolCallRequest,
} from "@omni/contracts";
import {
  type CallChannel,
  ClientRequestError,
  type CompiledServer,
  runTool,
  type StreamEvent,
} from "./runner.ts";

interface PendingRequest {
  method: ClientRequestMethod;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Live calls that may receive callbacks, by call id. */
export type CallRegistry = Map<string, RpcToolCall>;

const encoder = new TextEncoder();
/** Rejection of client requests still pending when their call ends (allocated once). */
const CALL_ENDED = new DOMException("The tool call ended", "AbortError");
const JSON_HEADERS = { "content-type": "application/json" };
const STREAM_HEADERS = { "content-type": "application/x-ndjson", "cache-control": "no-store" };

/**
 * A terminal event as JSON; a result the tool made that JSON cannot carry (a BigInt, a cycle) becomes
 * this call's error instead of an exception that would break the response.
 */
function terminalJson(server: string, event: ToolCallEvent): string {
  try {
    return JSON.stringify(event);
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return JSON.stringify({
      type: "error",
      error: {
        code: ErrorCode.InternalError,
        message: `The ${server} server could not send this call's answer (${what.slice(0, 200)})`,
      },
    } satisfies ToolCallEvent);
  }
}

function line(event: ToolCallEvent): Uint8Array {
  return encoder.encode(`${JSON.stringify(event)}\n`);
}

/**
 * One `POST /rpc/tools/call`. Framing: when the tool finishes before it emits anything, the response is
 * the terminal event as one JSON document (`application/json`, the fast path); otherwise it is NDJSON
 * (`application/x-ndjson`): `accepted`, then progress/log/request events, then exactly one terminal event.
 */
export class RpcToolCall implements CallChannel {
  readonly live: boolean;
  readonly clientCapabilities: ToolCallRequest["clientCapabilities"];
  readonly inputResponses: ToolCallRequest["inputResponses"];
  readonly progress: boolean;
  readonly logLevel: ToolCallRequest["logLevel"];
  readonly phase: ToolCallRequest["phase"];
  private queue: Uint8Array[] = [];
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private wake: (() => void) | undefined;
  /** The terminal event, as the JSON text sent (see `terminalJson`). */
  private terminal: string | undefined;
  private serverName = "domain";
  private closed = false;
  private callId: string | undefined;
  private nextId = 0;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly abort = new AbortController();

  /** Where events go in socket mode (`start`): each event's JSON text, in order. */
  private sink: ((event: string, last: boolean) => void) | undefined;

  /**
   * `trace`: the gateway's trace context (the RPC's `traceparent`/`tracestate` headers or the call frame's
   * head), read only while tracing is on.
   */
  constructor(
    private readonly body: ToolCallRequest,
    private readonly registry: CallRegistry,
    readonly trace?: CallChannel["trace"],
  ) {
    this.live = body.live;
    this.clientCapabilities = body.clientCapabilities;
    this.inputResponses = body.inputResponses;
    this.progress = body.progress === true;
    this.logLevel = body.logLevel;
    this.phase = body.phase;
  }

  emit(event: StreamEvent): void {
    this.push(event);
  }

  closeStream(retryMs: number): void {
    this.push({ type: "close_stream", retryMs });
  }

  readonly request = (request: InputRequest, signal: AbortSignal): Promise<unknown> => {
    const id = String(this.nextId++);
    return new Promise<unknown>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error("The call was cancelled"));
        return;
      }
      this.pending.set(id, { method: request.method, resolve, reject });
      this.push({ type: "request", id, request });
    });
  };

  /** Answer a pending request; false when the call or the request is unknown (already answered/ended). */
  answer(id: string, result: unknown, error: JsonRpcErrorObject | undefined): boolean {
    const pending = this.pending.get(id);
    if (!pending) return false;
    this.pending.delete(id);
    if (error) pending.reject(new ClientRequestError(pending.method, error));
    else pending.resolve(result);
    return true;
  }

  /** Abort the tool's signal and reject the requests it waits on. */
  cancel(reason: string): void {
    if (this.terminal !== undefined || this.abort.signal.aborted) return;
    const error = new DOMException(reason, "AbortError");
    if (this.callId) this.registry.delete(this.callId);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.abort.abort(error);
  }

  private push(event: ToolCallEvent): void {
    if (this.closed) return;
    if (this.sink) {
      // The first event of a call that streams: the id its callbacks are accepted under.
      if (this.callId === undefined) {
        this.callId = crypto.randomUUID();
        this.registry.set(this.callId, this);
        this.sink(JSON.stringify({ type: "accepted", callId: this.callId } satisfies ToolCallEvent), false);
      }
      this.sink(JSON.stringify(event), false);
      return;
    }
    const bytes = line(event);
    if (this.controller) this.controller.enqueue(bytes);
    else {
      this.queue.push(bytes);
      this.wake?.();
    }
  }

  private finish(event: ToolCallEvent): void {
    this.terminal = terminalJson(this.serverName, event);
    if (this.callId) this.registry.delete(this.callId);
    for (const p of this.pending.values()) p.reject(CALL_ENDED);
    this.pending.clear();
    if (this.sink && !this.closed) {
      this.closed = true;
      this.sink(this.terminal, true);
      return;
    }
    if (this.controller && !this.closed) {
      this.closed = true;
      this.controller.enqueue(encoder.encode(`${this.terminal}\n`));
      this.controller.close();
    }
    this.wake?.();
  }

  /**
   * Socket mode (the call socket, `call-frames.ts`): runs the tool and writes every event's JSON text to
   * `sink` as it happens, `accepted` (with the callback id) before the first non-terminal one, the
   * terminal event last (`last` true). `cancel` aborts it (the gateway's cancel frame, or its connection
   * closing).
   */
  start(
    server: CompiledServer,
    running: Set<RpcToolCall>,
    sink: (event: string, last: boolean) => void,
  ): void {
    this.sink = sink;
    void this.run(server, running);
  }

  /** Runs the tool; its terminal event (or its failure as an error event) finishes the call. */
  private run(server: CompiledServer, running: Set<RpcToolCall>): Promise<void> {
    running.add(this);
    this.serverName = server.def.name;
    const signal = this.abort.signal;
    return runTool(server, this.body.name, this.body.arguments, this.body.scope, this, signal).then(
      (event) => {
        running.delete(this);
        this.finish(event);
      },
      // Arguments that break the server's own code (e.g. a validator overflowing the stack on deep
      // nesting) end this call with an error; the server and its other calls carry on.
      (error: unknown) => {
        running.delete(this);
        const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.finish({
          type: "error",
          error: {
            code: ErrorCode.InternalError,
            message: `The ${server.def.name} server failed on this call (${what.slice(0, 200)})`,
          },
        });
      },
    );
  }

  /** Run the tool and answer with the fast JSON path or the NDJSON stream. */
  async respond(
    server: CompiledServer,
    requestSignal: AbortSignal,
    running: Set<RpcToolCall>,
  ): Promise<Response> {
    const onAbort = () => this.cancel("The client cancelled the call");
    requestSignal.addEventListener("abort", onAbort, { once: true });
    const run = this.run(server, running);
    if (this.terminal === undefined && this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    if (this.terminal !== undefined && this.queue.length === 0) {
      return new Response(this.terminal, { headers: JSON_HEADERS });
    }
    const callId = crypto.randomUUID();
    this.callId = callId;
    if (this.terminal === undefined) this.registry.set(callId, this);
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        controller.enqueue(line({ type: "accepted", callId }));
        for (const bytes of this.queue) controller.enqueue(bytes);
        this.queue = [];
        if (this.terminal !== undefined) {
          this.closed = true;
          controller.enqueue(encoder.encode(`${this.terminal}\n`));
          controller.close();
        } else this.controller = controller;
      },
      cancel: () => {
        this.closed = true;
        this.cancel("The client cancelled the call");
      },
    });
    void run;
    return new Response(stream, { headers: STREAM_HEADERS });
  }
}
