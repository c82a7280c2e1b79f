import type { Outbound } from "./core/context.ts";
import { type Json, json } from "./protocol.ts";

/**
 * The one SSE module of the MCP endpoint: the response channel of a POST (2025 and 2026-07-28), the
 * 2025 GET stream and `subscriptions/listen` all write JSON-RPC messages as `message` events here.
 */

const encoder = new TextEncoder();

/** Headers of every MCP SSE response. */
export const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
};

/** One JSON-RPC message as an SSE `message` event (with an event id on resumable streams). */
export function sseFrame(message: Json, id?: string): Uint8Array {
  const head = id === undefined ? "" : `id: ${id}\n`;
  return encoder.encode(`${head}event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

/** An SSE comment line (stream-open marker, keep-alive). */
export function sseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text}\n\n`);
}

export interface ChannelOptions {
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Keep-alive comment period once the stream is open (long calls, listen streams). */
  keepAliveMs?: number;
  /** Messages this channel drops (e.g. logs the client did not ask for). */
  drop?: (message: Json) => boolean;
  /** Called once when the client goes away before the channel finished. */
  onGone?: () => void;
  /** Open the stream at once, with this comment (GET streams). */
  openWith?: string;
}

/**
 * The response of one request: plain JSON when it finishes without related messages, an SSE stream the
 * moment one must be sent (progress, logs, server-to-client requests, notifications), ended by `finish`.
 */
export class ResponseChannel implements Outbound {
  readonly response: Promise<Response>;
  private resolve!: (response: Response) => void;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private open = false;
  private done = false;
  private gone = false;

  constructor(private readonly opts: ChannelOptions = {}) {
    this.response = new Promise((resolve) => {
      this.resolve = resolve;
    });
    if (opts.openWith !== undefined) {
      this.startStream();
      this.write(sseComment(opts.openWith));
    }
  }

  /** Writes one message (switching to SSE); false once the client went away. */
  send(message: Json, id?: string): boolean {
    if (this.done || this.gone) return false;
    if (this.opts.drop?.(message)) return true;
    if (!this.open) this.startStream();
    return this.write(sseFrame(message, id));
  }

  /** An SSE event with an id and no data (SEP-1699 "priming": the client can resume from it). */
  prime(id: string): void {
    if (this.done || this.gone) return;
    if (!this.open) this.startStream();
    this.write(encoder.encode(`id: ${id}\ndata: \n\n`));
  }

  /** Whether the answer became an SSE stream (a message was sent before it ended). */
  get isStream(): boolean {
    return this.open;
  }

  /**
   * Ends the response: with `body` (JSON when no stream was opened), or 202 when null. `id`: the SSE event
   * id of a streamed single `body` (resumable streams).
   */
  finish(body: Json | Json[] | null, status = 200, id?: string): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    if (!this.open) {
      const headers = this.opts.headers ?? {};
      this.resolve(
        body === null ? new Response(null, { status: 202, headers }) : json(status, body, headers),
      );
      return;
    }
    if (body !== null && !Array.isArray(body)) this.write(sseFrame(body, id));
    else for (const message of body ?? []) this.write(sseFrame(message));
    this.close();
  }

  /**
   * Ends the stream without a final message (session ended); with `retryMs`, an SSE `retry` field first,
   * so the client reconnects after that long (graceful drain: it resumes on another replica).
   */
  close(retryMs?: number): void {
    if (retryMs !== undefined && !this.done) this.write(encoder.encode(`retry: ${Math.round(retryMs)}\n\n`));
    this.done = true;
    clearInterval(this.timer);
    try {
      this.controller?.close();
    } catch {
      // already closed by the client
    }
    this.controller = null;
  }

  private write(chunk: Uint8Array): boolean {
    if (!this.controller) return false;
    try {
      this.controller.enqueue(chunk);
      return true;
    } catch {
      this.lost();
      return false;
    }
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    this.controller = null;
    clearInterval(this.timer);
    if (!this.done) this.opts.onGone?.();
  }

  private startStream(): void {
    this.open = true;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => this.lost(),
    });
    if (this.opts.keepAliveMs !== undefined) {
      this.timer = setInterval(() => this.write(sseComment("keep-alive")), this.opts.keepAliveMs);
    }
    this.resolve(new Response(stream, { status: 200, headers: { ...SSE_HEADERS, ...this.opts.headers } }));
  }
}
