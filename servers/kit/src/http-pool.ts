import type { Socket } from "bun";

/**
 * A small keep-alive HTTP/1.1 client on `Bun.connect` for the gateway's hot path (`POST /rpc/tools/call`
 * to one domain server instance): a pool of persistent connections, one request at a time on each, the
 * response head parsed by hand, bodies by `content-length` or `transfer-encoding: chunked` (the NDJSON
 * event stream). Aborting a request closes its connection, which aborts the call on the server. Measured
 * on the bench: about half the CPU per call of `fetch` (bench/gateway.ts).
 */

export interface PoolOptions {
  /** Connections kept open at most (more concurrent requests queue). Default 64. */
  maxSockets?: number;
  /**
   * Idle connections are closed after this long, at most a quarter more (below Bun.serve's 10 s idle
   * timeout). Default 4 s.
   */
  idleMs?: number;
  /**
   * Keep one connection open and idle (re-opened when it idles out), so a call never waits for a TCP
   * connect. Default true.
   */
  warm?: boolean;
}

/** A response: status and headers at once, the body as it arrives. */
export interface PooledResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The body's chunks as they arrive. */
  chunks(): AsyncGenerator<Uint8Array>;
}

const CRLF2 = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const decoder = new TextDecoder();
const encoder = new TextEncoder();

class Body {
  private queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  /** The whole body, decoded when it arrived in one piece with its head (the common small answer). */
  private whole: string | undefined;

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.wake?.();
  }
  /** The complete body at once (nothing was pushed). */
  endWith(text: string): void {
    this.whole = text;
    this.end();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  fail(error: Error): void {
    this.failure ??= error;
    this.wake?.();
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    if (this.whole !== undefined) {
      if (this.whole.length > 0) yield encoder.encode(this.whole);
      return;
    }
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift() as Uint8Array;
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }

  text(): Promise<string> {
    if (this.whole !== undefined) return Promise.resolve(this.whole);
    if (this.ended && !this.failure) return Promise.resolve(decodeAll(this.queue));
    return this.collect();
  }

  private async collect(): Promise<string> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.chunks()) parts.push(chunk);
    return decodeAll(parts);
  }
}

function decodeAll(parts: Uint8Array[]): string {
  if (parts.length === 0) return "";
  if (parts.length === 1) return decoder.decode(parts[0]);
  return decoder.decode(Buffer.concat(parts));
}

interface Exchange {
  resolve(response: PooledResponse): void;
  reject(error: Error): void;
  body: Body | undefined;
  /** The response head was read. */
  headed: boolean;
  /** Called once when the exchange is over (ended or failed). */
  done: (() => void) | undefined;
}

type BodyMode =
  | { kind: "length"; left: number; fresh: boolean }
  | { kind: "chunked"; left: number; trailer: boolean };

/** One persistent connection: one exchange at a time. */
class Connection {
  socket: Socket<Connection> | undefined;
  exchange: Exchange | undefined;
  /** When the connection last went idle (ms, `performance.now()`); the pool's sweeper closes old ones. */
  idleSince = 0;
  /** It sat idle in the pool (after an exchange, or opened ahead of need): the server may have closed it. */
  wasIdle = false;
  closed = false;
  private buffer: Buffer = EMPTY;
  private mode: BodyMode | undefined;
  private keepAlive = true;
  private pendingWrite: Buffer | undefined;

  constructor(private readonly pool: HttpPool) {}

  write(data: string): void {
    const socket = this.socket;
    if (!socket) return;
    // A string goes to the socket as is (no copy into a Buffer first); only a partial write keeps bytes.
    const written = socket.write(data);
    if (written < data.length || written < Buffer.byteLength(data)) {
      this.pendingWrite = Buffer.from(data).subarray(Math.max(0, written));
    }
  }

  drain(): void {
    if (!this.pendingWrite || !this.socket) return;
    const written = this.socket.write(this.pendingWrite);
    this.pendingWrite = written < this.pendingWrite.length ? this.pendingWrite.subarray(written) : undefined;
  }

  data(chunk: Buffer): void {
    const exchange = this.exchange;
    if (!exchange) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.destroy(new Error("unexpected data on an idle connection"));
      return;
    }
    // The chunk's memory is the socket's: whatever is kept past this callback is copied (pushed body
    // chunks and leftover bytes), a body complete in this chunk is decoded right here.
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (exchange.headed || this.readHead(exchange)) this.readBody(exchange);
    if (this.buffer.length > 0 && this.buffer.buffer === chunk.buffer) this.buffer = Buffer.from(this.buffer);
  }

  private readHead(exchange: Exchange): boolean {
    const end = this.buffer.indexOf(CRLF2);
    if (end < 0) {
      if (this.buffer.length > 64 * 1024) this.destroy(new Error("response head too large"));
      return false;
    }
    const head = this.buffer.toString("latin1", 0, end);
    this.buffer = this.buffer.subarray(end + 4);
    const lines = head.split("\r\n");
    const status = Number(lines[0]?.slice(9, 12));
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (!Number.isInteger(status)) {
      this.destroy(new Error("malformed response status line"));
      return false;
    }
    this.keepAlive = headers.get("connection")?.toLowerCase() !== "close";
    if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
      this.mode = { kind: "chunked", left: -1, trailer: false };
    } else {
      this.mode = { kind: "length", left: Number(headers.get("content-length") ?? "0") || 0, fresh: true };
    }
    const body = new Body();
    exchange.body = body;
    exchange.headed = true;
    exchange.resolve({
      status,
      headers,
      text: () => body.text(),
      chunks: () => body.chunks(),
    });
    return true;
  }

  private readBody(exchange: Exchange): void {
    const body = exchange.body as Body;
    const mode = this.mode as BodyMode;
    if (mode.kind === "length") {
      if (mode.fresh && this.buffer.length >= mode.left) {
        // The whole body came with its head: decoded at once, no chunk queue.
        const text = this.buffer.toString("utf8", 0, mode.left);
        this.buffer = this.buffer.subarray(mode.left);
        mode.left = 0;
        this.complete(body, text);
        return;
      }
      mode.fresh = false;
      if (this.buffer.length > 0 && mode.left > 0) {
        const take = Math.min(mode.left, this.buffer.length);
        body.push(Buffer.from(this.buffer.subarray(0, take)));
        this.buffer = this.buffer.subarray(take);
        mode.left -= take;
      }
      if (mode.left === 0) this.complete(body);
      return;
    }
    for (;;) {
      if (mode.left < 0) {
        const eol = this.buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = this.buffer.toString("latin1", 0, eol);
        this.buffer = this.buffer.subarray(eol + 2);
        if (mode.trailer) {
          // Trailers end with an empty line.
          if (line === "") {
            this.complete(body);
            return;
          }
          continue;
        }
        const size = Number.parseInt(line, 16);
        if (!Number.isFinite(size) || size < 0) {
          this.destroy(new Error("malformed chunk size"));
          return;
        }
        if (size === 0) {
          mode.trailer = true;
          continue;
        }
        mode.left = size;
      }
      if (this.buffer.length === 0) return;
      if (mode.left > 0) {
        const take = Math.min(mode.left, this.buffer.length);
        body.push(Buffer.from(this.buffer.subarray(0, take)));
        this.buffer = this.buffer.subarray(take);
        mode.left -= take;
      }
      if (mode.left > 0) return;
      // The CRLF after a chunk's data.
      if (this.buffer.length < 2) return;
      this.buffer = this.buffer.subarray(2);
      mode.left = -1;
    }
  }

  private complete(body: Body, whole?: string): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.mode = undefined;
    if (whole === undefined) body.end();
    else body.endWith(whole);
    exchange?.done?.();
    if (this.keepAlive && this.buffer.length === 0) {
      this.buffer = EMPTY;
      this.pool.release(this);
    } else this.destroy();
  }

  /** Closes the connection; the exchange in flight (if any) fails with `error`. */
  destroy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange) {
      const failure = error ?? new ConnectionClosed();
      if (exchange.headed) exchange.body?.fail(failure);
      else exchange.reject(failure);
      exchange.done?.();
    }
    this.socket?.terminate();
    this.pool.forget(this);
  }
}

export class HttpPool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: ((connection: Connection) => void)[] = [];
  private readonly maxSockets: number;
  private readonly idleMs: number;
  private readonly hostname: string;
  private readonly port: number;
  private readonly host: string;
  private readonly warm: boolean;
  private closing = false;
  private warming = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  /** Request heads by headers object, then by method and path (see `headOf`). */
  private readonly heads = new WeakMap<Record<string, string>, Map<string, string>>();

  constructor(baseUrl: string, opts: PoolOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:") throw new Error(`HttpPool speaks plain http only, not ${url.protocol}`);
    this.hostname = url.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(url.port || 80);
    this.host = url.host;
    this.maxSockets = opts.maxSockets ?? 64;
    this.idleMs = opts.idleMs ?? 4000;
    this.warm = opts.warm ?? true;
    if (this.warm) this.prewarm();
  }

  /** Opens one idle connection when none is open (failures are left to the next request). */
  private prewarm(): void {
    if (this.closing || this.warming || this.all.size > 0) return;
    this.warming = true;
    this.acquire().then(
      (connection) => {
        this.warming = false;
        this.release(connection);
      },
      () => {
        this.warming = false;
      },
    );
  }

  /**
   * Sends one request; resolves once the response head arrived. A GET or HEAD that fails on a kept-alive
   * connection before any answer (the server closed it while it sat idle, e.g. it restarted) is sent once
   * more on a new connection, as HTTP clients do for idempotent requests; other methods fail.
   */
  async request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string,
    signal?: AbortSignal,
  ): Promise<PooledResponse> {
    const retryable = method === "GET" || method === "HEAD";
    const reused = { value: false };
    try {
      return await this.send(method, path, headers, body, signal, reused);
    } catch (error) {
      if (!retryable || !reused.value || signal?.aborted || !(error instanceof ConnectionClosed)) throw error;
      return this.send(method, path, headers, body, signal, { value: false }, true);
    }
  }

  private async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal | undefined,
    reused: { value: boolean },
    fresh = false,
  ): Promise<PooledResponse> {
    signal?.throwIfAborted();
    const connection = await this.acquire(fresh);
    reused.value = connection.wasIdle;
    if (signal?.aborted) {
      this.release(connection);
      signal.throwIfAborted();
    }
    const head = `${this.headOf(method, path, headers)}${Buffer.byteLength(body)}\r\n\r\n`;
    const response = new Promise<PooledResponse>((resolve, reject) => {
      const exchange: Exchange = { resolve, reject, body: undefined, headed: false, done: undefined };
      connection.exchange = exchange;
      if (signal) {
        const onAbort = () => {
          if (connection.exchange === exchange) connection.destroy(abortError(signal));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        exchange.done = () => signal.removeEventListener("abort", onAbort);
      }
    });
    connection.write(body.length > 0 ? head + body : head);
    return response;
  }

  /** The request head up to the content length's value, built once per method, path and headers object. */
  private headOf(method: string, path: string, headers: Record<string, string>): string {
    let byRoute = this.heads.get(headers);
    if (!byRoute) {
      byRoute = new Map();
      this.heads.set(headers, byRoute);
    }
    const route = `${method} ${path}`;
    let head = byRoute.get(route);
    if (head === undefined) {
      head = `${route} HTTP/1.1\r\nhost: ${this.host}\r\n`;
      for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
      head += "content-length: ";
      byRoute.set(route, head);
    }
    return head;
  }

  /** Closes every connection. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const connection of [...this.all]) connection.destroy();
  }

  /** An idle connection, else a new one (`fresh`: always a new one, beyond `maxSockets` if need be). */
  private async acquire(fresh = false): Promise<Connection> {
    for (; !fresh; ) {
      const connection = this.idle.pop();
      if (!connection) break;
      if (connection.closed) continue;
      connection.socket?.ref();
      return connection;
    }
    if (!fresh && this.all.size >= this.maxSockets) {
      return new Promise((resolve) => this.waiting.push(resolve));
    }
    const connection = new Connection(this);
    this.all.add(connection);
    try {
      connection.socket = await Bun.connect<Connection>({
        hostname: this.hostname,
        port: this.port,
        data: connection,
        socket: {
          data: (socket, chunk) => socket.data.data(chunk),
          drain: (socket) => socket.data.drain(),
          close: (socket) => socket.data.destroy(),
          error: (socket, error) => socket.data.destroy(new ConnectionClosed(error)),
          end: (socket) => socket.data.destroy(),
        },
      });
    } catch (error) {
      this.all.delete(connection);
      connection.closed = true;
      throw error;
    }
    connection.socket.setNoDelay?.(true);
    return connection;
  }

  /** A connection finished its exchange: to the next waiting request, else idle. */
  release(connection: Connection): void {
    if (connection.closed) return;
    const next = this.waiting.shift();
    if (next) {
      next(connection);
      return;
    }
    this.idle.push(connection);
    connection.wasIdle = true;
    // An idle connection does not keep the process alive.
    connection.socket?.unref();
    connection.idleSince = performance.now();
    this.sweepLater();
  }

  /**
   * One timer per pool (not one per request) closes connections idle for `idleMs`: it runs every quarter
   * of `idleMs` while any connection is idle, so none stays idle longer than 1.25 × `idleMs`.
   */
  private sweepLater(): void {
    if (this.sweeper || this.closing) return;
    this.sweeper = setInterval(() => {
      const cutoff = performance.now() - this.idleMs;
      for (const connection of [...this.idle]) if (connection.idleSince <= cutoff) connection.destroy();
      if (this.idle.length === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, this.idleMs / 4);
    this.sweeper.unref?.();
  }

  forget(connection: Connection): void {
    this.all.delete(connection);
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    // A request waiting for a free slot gets a new connection.
    const next = this.waiting.shift();
    if (next) void this.acquire().then(next, () => this.waiting.unshift(next));
    else if (this.warm && this.all.size === 0) setTimeout(() => this.prewarm(), 0).unref?.();
  }
}

/** The connection closed (or broke: `cause`) before the response ended. */
class ConnectionClosed extends Error {
  constructor(cause?: Error) {
    super(cause ? cause.message : "the connection closed before the response ended", cause ? { cause } : {});
  }
}

/** Why an aborted request failed: the signal's reason, else an `AbortError`. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException("The request was aborted", "AbortError");
}
