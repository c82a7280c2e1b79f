import {
  CALL_SOCKET_PATH,
  callFrame,
  cancelFrame,
  type Frame,
  type FrameTrace,
  FrameWriter,
  readFrames,
} from "./call-frames.ts";

/** What a call hears from the socket: each event's JSON text, or a refusal with an HTTP-like status. */
export interface CallHandlers {
  /** One event of the call; return true when it was the terminal one (the call is over). */
  event(json: string): boolean;
  /** The server refused the call before running it (`f` frame). */
  refused(status: number, message: string): void;
  /** The connection closed (or broke) with the call in flight, or the call's signal aborted. */
  lost(reason: string): void;
  /** `event` threw (a malformed event): the call ends with that error and is cancelled upstream. */
  invalid(error: unknown): void;
}

export interface CallSocketOptions {
  /** Headers of the upgrade request (the internal token). */
  headers: Record<string, string>;
  /** First reconnect delay after a failure; doubles up to `maxBackoffMs`. Default 200 ms. */
  backoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** How often calls in flight are checked for an aborted signal. Default 20 ms. */
  abortCheckMs?: number;
}

/**
 * Bun's WebSocket, which takes the upgrade request's headers (the internal token) in its options: the
 * DOM library's declaration of the same global (the admin shares this tsconfig) only knows protocols.
 */
export const BunWebSocket = WebSocket as unknown as new (
  url: string,
  options: Bun.WebSocketOptions,
) => WebSocket;

interface Running {
  handlers: CallHandlers;
  signal: AbortSignal | undefined;
}

/**
 * The gateway's end of one instance's call socket (`call-frames.ts`): one WebSocket carrying every tool
 * call to that instance at once, each a numbered exchange of frames. Measured against the keep-alive HTTP
 * pool on this machine: about half the CPU per call on each side, and no HTTP head to build or parse.
 *
 * It connects on first use and reconnects after a failure with a growing backoff; while it is not open,
 * `ready()` is false and callers use the HTTP route instead (also for a server without the socket). Calls
 * in flight when the connection breaks fail through `lost`, as a broken HTTP connection fails its call.
 *
 * Aborted calls are found by a check of the calls in flight every `abortCheckMs`, not by a listener on each
 * call's signal: adding and removing one cost Bun about 4 µs per call (5% of the gateway's CPU per call in
 * the bench's profile), most calls end within a millisecond, and an abort needs no faster answer than that.
 */
export class CallSocket {
  private socket: WebSocket | undefined;
  private open = false;
  private closed = false;
  private next = 1;
  private failures = 0;
  private retryAt = 0;
  private readonly calls = new Map<number, Running>();
  /** Waiters for the connection attempt in progress (`opened`). */
  private waiters: ((open: boolean) => void)[] = [];
  private readonly url: string;
  /** The frames of this turn of the event loop, sent as one message (`FrameWriter`). */
  private readonly writer = new FrameWriter((message) => this.socket?.send(message));
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly abortCheckMs: number;
  /** Runs while calls with a signal are in flight (`checkAborted`). */
  private abortTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    baseUrl: string,
    private readonly opts: CallSocketOptions,
  ) {
    const url = new URL(baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.pathname = `${url.pathname.replace(/\/+$/, "")}${CALL_SOCKET_PATH}`;
    this.url = url.toString();
    this.backoffMs = opts.backoffMs ?? 200;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.abortCheckMs = opts.abortCheckMs ?? 20;
  }

  /** Whether the socket is open now (no connection attempt). */
  get isOpen(): boolean {
    return this.open;
  }

  /** Whether a call can go over the socket now; when not, starts connecting (unless it is backing off). */
  ready(): boolean {
    if (this.open) return true;
    this.connect();
    return false;
  }

  /**
   * Connects now (unless open or backing off) and resolves with whether the socket is open once the
   * attempt settled: true from then on calls go over it.
   */
  opened(): Promise<boolean> {
    if (this.ready()) return Promise.resolve(true);
    if (!this.socket) return Promise.resolve(false);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends one call (`ready()` must be true); its frames go to `handlers` until the terminal event. */
  call(body: string, handlers: CallHandlers, signal?: AbortSignal, trace?: FrameTrace): void {
    const socket = this.socket;
    if (!this.open || !socket) {
      handlers.lost("the call socket is not open");
      return;
    }
    if (signal?.aborted) {
      handlers.lost("the request was aborted");
      return;
    }
    const n = this.next++;
    this.calls.set(n, { handlers, signal });
    if (signal && this.abortTimer === undefined) {
      this.abortTimer = setInterval(() => this.checkAborted(), this.abortCheckMs);
      this.abortTimer.unref?.();
    }
    this.writer.write(callFrame(n, body, trace));
  }

  /** Cancels the calls whose signal aborted (upstream with an `x` frame); stops once no call is in flight. */
  private checkAborted(): void {
    for (const [n, running] of this.calls) {
      if (!running.signal?.aborted) continue;
      this.calls.delete(n);
      if (this.open) this.writer.write(cancelFrame(n));
      running.handlers.lost("the request was aborted");
    }
    if (this.calls.size === 0) {
      clearInterval(this.abortTimer);
      this.abortTimer = undefined;
    }
  }

  /** Closes the connection; calls in flight are lost. */
  close(): void {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    this.open = false;
    this.writer.clear();
    socket?.close(1000, "The gateway closed the connection");
    this.loseAll("the gateway closed the call socket");
    this.settle(false);
  }

  private connect(): void {
    if (this.closed || this.socket || performance.now() < this.retryAt) return;
    let socket: WebSocket;
    try {
      socket = new BunWebSocket(this.url, { headers: this.opts.headers });
    } catch {
      this.failed();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.failures = 0;
      this.settle(true);
    };
    socket.onmessage = (message) => this.message(message.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      const wasOpen = this.open;
      this.socket = undefined;
      this.open = false;
      this.writer.clear();
      this.loseAll(`the call socket closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
      // A server going away (shutdown) or refusing the upgrade: wait before trying again.
      if (!wasOpen || event.code !== 1000) this.failed();
      this.settle(false);
    };
  }

  private settle(open: boolean): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(open);
  }

  private failed(): void {
    this.failures++;
    const delay = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(this.failures - 1, 16));
    this.retryAt = performance.now() + delay;
  }

  private message(data: unknown): void {
    const frames = typeof data === "string" ? readFrames(data) : null;
    if (!frames) {
      // Out of step with the server: drop the connection (its calls are lost) and reconnect later.
      this.socket?.close(1002, "Malformed call socket frame");
      return;
    }
    for (const frame of frames) this.frame(frame);
  }

  private frame(frame: Frame): void {
    const running = this.calls.get(frame.n);
    if (!running) return; // a call cancelled here, or already refused
    if (frame.kind === "e") {
      let done: boolean;
      try {
        done = running.handlers.event(frame.payload);
      } catch (error) {
        // The call's own answer was malformed: that call ends (cancelled upstream), the others go on.
        this.calls.delete(frame.n);
        if (this.open) this.writer.write(cancelFrame(frame.n));
        running.handlers.invalid(error);
        return;
      }
      if (done) this.calls.delete(frame.n);
      return;
    }
    if (frame.kind === "f") {
      this.calls.delete(frame.n);
      running.handlers.refused(Number(frame.tokens[0]) || 500, frame.payload.slice(0, 500));
      return;
    }
    this.socket?.close(1002, "Unknown call socket frame");
  }

  private loseAll(reason: string): void {
    const lost = [...this.calls.values()];
    this.calls.clear();
    for (const running of lost) running.handlers.lost(reason);
  }
}
