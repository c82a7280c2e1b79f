import type { Readable, Writable } from "node:stream";
import type { ProtocolMapping } from "devtools-protocol/types/protocol-mapping.d.ts";
import * as v from "valibot";

type Commands = ProtocolMapping.Commands;

/** A CDP event as Chromium sent it; `sessionId` is set for events of an attached (flat) target session. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

/** Where CDP messages travel: one JSON text per message, both ways. */
interface CdpTransport {
  send(message: string): void;
  close(): void;
  onMessage: (message: string) => void;
  onClose: () => void;
}

/** A failed CDP command: Chromium's error message (and data, when it sent some). */
export class CdpError extends Error {
  override readonly name = "CdpError";
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The message a command fails with once the connection is gone (tools turn it into a clear error). */
export const CONNECTION_CLOSED = "The DevTools connection to Chromium was closed";

const Incoming = v.object({
  id: v.optional(v.number()),
  method: v.optional(v.string()),
  params: v.optional(v.record(v.string(), v.unknown())),
  sessionId: v.optional(v.string()),
  result: v.optional(v.record(v.string(), v.unknown())),
  error: v.optional(v.object({ code: v.number(), message: v.string(), data: v.optional(v.string()) })),
});

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * A typed Chrome DevTools Protocol client over a pipe (`--remote-debugging-pipe`: fds 3/4, NUL-delimited
 * JSON) or a WebSocket (attach mode). Commands of attached targets go to their flat session with
 * `sessionId`; every event reaches the `event` listeners; `disconnect` fires once when the transport closes,
 * and every pending command then fails with {@link CONNECTION_CLOSED}.
 */
export class CdpClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: CdpEvent) => void>();
  private readonly disconnectListeners = new Set<() => void>();
  private closed = false;

  constructor(private readonly transport: CdpTransport) {
    transport.onMessage = (message) => this.receive(message);
    transport.onClose = () => this.disconnected();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send<M extends keyof Commands>(
    method: M,
    params?: Commands[M]["paramsType"][0],
    sessionId?: string,
  ): Promise<Commands[M]["returnType"]> {
    if (this.closed) return Promise.reject(new Error(CONNECTION_CLOSED));
    const id = this.nextId++;
    const message: Record<string, unknown> = { id, method, params: params ?? {} };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        method,
        resolve: resolve as (result: unknown) => void,
        reject,
      });
      try {
        this.transport.send(JSON.stringify(message));
      } catch (err) {
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  on(event: "event", listener: (event: CdpEvent) => void): void;
  on(event: "disconnect", listener: () => void): void;
  on(event: "event" | "disconnect", listener: ((event: CdpEvent) => void) | (() => void)): void {
    if (event === "event") this.eventListeners.add(listener as (event: CdpEvent) => void);
    else this.disconnectListeners.add(listener as () => void);
  }

  /** Close the transport (the pipe or socket); pending commands fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.transport.close();
    this.disconnected();
  }

  private receive(raw: string): void {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return;
    }
    const parsed = v.safeParse(Incoming, json);
    if (!parsed.success) return;
    const message = parsed.output;
    if (message.id !== undefined) {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.error) {
        const { code, message: text, data } = message.error;
        pending.reject(new CdpError(pending.method, code, data ? `${text} (${data})` : text));
      } else {
        pending.resolve(message.result ?? {});
      }
      return;
    }
    if (!message.method) return;
    const event: CdpEvent = { method: message.method, params: message.params ?? {} };
    if (message.sessionId) event.sessionId = message.sessionId;
    for (const listener of this.eventListeners) listener(event);
  }

  private disconnected(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values()) pending.reject(new Error(CONNECTION_CLOSED));
    this.pending.clear();
    for (const listener of this.disconnectListeners) listener();
  }
}

/** CDP over Chromium's debugging pipe: we write to its fd 3 and read its fd 4, messages end with NUL. */
export function pipeTransport(toChrome: Writable, fromChrome: Readable): CdpTransport {
  let buffer = "";
  const decoder = new TextDecoder();
  const transport: CdpTransport = {
    onMessage: () => undefined,
    onClose: () => undefined,
    send(message) {
      toChrome.write(`${message}\0`);
    },
    close() {
      toChrome.end();
      fromChrome.destroy();
    },
  };
  fromChrome.on("data", (chunk: Buffer) => {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf("\0");
    while (end !== -1) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      transport.onMessage(message);
      end = buffer.indexOf("\0");
    }
  });
  const closed = () => transport.onClose();
  fromChrome.on("close", closed);
  fromChrome.on("error", closed);
  toChrome.on("error", closed);
  return transport;
}

/** CDP over a WebSocket (`CHROME_URL` attach mode); resolves once the socket is open. */
export function webSocketTransport(url: string, timeoutMs = 5000): Promise<CdpTransport> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`Cannot reach the browser at ${url}: no WebSocket answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const transport: CdpTransport = {
      onMessage: () => undefined,
      onClose: () => undefined,
      send(message) {
        socket.send(message);
      },
      close() {
        socket.close();
      },
    };
    socket.onopen = () => {
      clearTimeout(timer);
      resolve(transport);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") transport.onMessage(event.data);
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`Cannot reach the browser at ${url}: the WebSocket failed`));
    };
    socket.onclose = () => {
      clearTimeout(timer);
      transport.onClose();
    };
  });
}
