import type { RequestId } from "@omni/contracts";
import type { Outbound } from "./core/context.ts";
import { errorMessage, type Json } from "./protocol.ts";
import type { SessionBus, StreamEvent } from "./session-bus.ts";
import type { ResponseChannel } from "./sse.ts";

/**
 * Resumable POST response streams of 2025 sessions (Streamable HTTP "Resumability and Redelivery",
 * SEP-1699). Every SSE event of a POST's response stream carries an id naming its stream,
 * `p.<replica>.<n>.<request id>.<seq>`, and is kept in that stream's buffer (`SessionBus.recordStream`). A
 * client whose stream broke reconnects with `GET` and `Last-Event-ID` (the SDK does this by itself), on
 * this replica or any other:
 *
 * - it first gets the events it missed, from the buffer;
 * - while the request still runs on its replica (which now also publishes each event on the session bus),
 *   the rest as they happen, the response last, then the stream ends;
 * - when the replica that ran it is gone (a bus probe finds nobody there) before the response, a JSON-RPC
 *   error for that request says so at once, where the client would otherwise wait for its timeout.
 *
 * A stream is never replayed into another: a `Last-Event-ID` names exactly one. JSON answers (no events
 * before the response) need none of this: a client whose request broke sees its fetch fail.
 */

/** How long a stream answered on its own connection stays resumable. */
const ANSWERED_KEEP_MS = 30_000;

/** The longest encoded request id that still gets a resumable stream (ids must fit a header). */
const MAX_ID_CHARS = 96;

/** The stream part of an event id: `<replica>.<n>.<request id as base64url JSON>`. */
export interface PostStreamName {
  readonly stream: string;
  readonly replica: string;
  readonly requestId: RequestId;
}

let streams = 0;

/** A new stream name for a request of this replica, or undefined when its id is too long to carry. */
export function newPostStream(replica: string, requestId: RequestId): PostStreamName | undefined {
  const encoded = Buffer.from(JSON.stringify(requestId)).toString("base64url");
  if (encoded.length > MAX_ID_CHARS) return undefined;
  return { stream: `${replica}.${(streams++).toString(36)}.${encoded}`, replica, requestId };
}

/** The id of the `seq`th event of a stream. */
export function postEventId(name: PostStreamName, seq: number): string {
  return `p.${name.stream}.${seq}`;
}

/** The sequence number of an event id of this stream, or undefined for any other id. */
export function eventSeq(name: PostStreamName, id: string): number | undefined {
  const prefix = `p.${name.stream}.`;
  if (!id.startsWith(prefix)) return undefined;
  const seq = id.slice(prefix.length);
  return /^\d{1,9}$/.test(seq) ? Number(seq) : undefined;
}

/** The id the resumed stream's error event carries: resuming from it answers 404 (nothing more to send). */
export function endedEventId(name: PostStreamName): string {
  return `x.${name.stream}`;
}

/** A POST stream's event id (or its ended marker), or undefined for any other id (a GET stream's). */
export function parsePostEventId(id: string): (PostStreamName & { seq: number | undefined }) | undefined {
  const match =
    /^([px])\.([A-Za-z0-9_-]{1,32})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{1,96})(?:\.(\d{1,9}))?$/.exec(id);
  if (!match) return undefined;
  const [, kind, replica, n, encoded, seq] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if ((kind === "p") !== (seq !== undefined)) return undefined;
  let requestId: unknown;
  try {
    requestId = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof requestId !== "string" && typeof requestId !== "number") return undefined;
  return {
    stream: `${replica}.${n}.${encoded}`,
    replica,
    requestId,
    seq: seq === undefined ? undefined : Number(seq),
  };
}

/** A priming event's record (no message: nothing to replay). */
export function isPriming(message: Json): boolean {
  for (const _ in message) return false;
  return true;
}

/** Whether a message is the response of `requestId` (the stream's last). */
export function isResponseTo(message: Json, requestId: RequestId): boolean {
  return (
    message.id === requestId && message.method === undefined && ("result" in message || "error" in message)
  );
}

/** The error a resumed stream answers with when the replica running the request is gone. */
export function lostResponse(requestId: RequestId): Json {
  return errorMessage(requestId, {
    code: -32000,
    message:
      "The gateway replica serving this request stopped before it answered, so the response is lost; send the request again",
  });
}

type Listener = (event: StreamEvent) => void;

/**
 * This replica's POST streams whose client went away ("detached") and the resumed streams waiting for
 * their events: a detached stream's events go to local listeners and, through the bus, to other replicas'.
 */
export class PostStreamHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Streams of this replica still running (their request has not answered yet). */
  private readonly running = new Set<string>();

  constructor(readonly bus: SessionBus) {
    bus.onMessage((message) => {
      if (message.t === "stream") this.deliver(message.sid, message.stream, message.event);
    });
  }

  private key(sid: string, stream: string): string {
    return `${sid}\u0000${stream}`;
  }

  /** Whether a stream of this replica is still running. */
  isRunning(stream: string): boolean {
    return this.running.has(stream);
  }

  /** Listens to the live events of one stream of one session; the returned function stops. */
  listen(sid: string, stream: string, listener: Listener): () => void {
    const key = this.key(sid, stream);
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  /**
   * The outbound side of one POST's response channel: from its first event on (the answer becomes SSE), ids
   * on every event, each kept in the stream's buffer; once the client went away (`detach`), events are
   * published instead of written. A request answered without events (JSON) costs nothing here.
   */
  open(sid: string, requestId: RequestId, channel: ResponseChannel): PostStream {
    /** Named at the first event; null: its id is too long to resume. */
    let name: PostStreamName | null | undefined;
    let seq = 0;
    let detached = false;
    const emit = (stream: PostStreamName, message: Json): StreamEvent => {
      const event = { id: postEventId(stream, seq++), message };
      this.bus.recordStream(sid, stream.stream, event);
      if (detached) {
        this.deliver(sid, stream.stream, event);
        void this.bus.broadcast({ t: "stream", sid, stream: stream.stream, event }).catch(() => {});
      }
      return event;
    };
    const named = (): PostStreamName | null => {
      if (name === undefined) {
        name = newPostStream(this.bus.replica, requestId) ?? null;
        if (name) this.running.add(name.stream);
      }
      return name;
    };
    return {
      out: {
        send: (message) => {
          const stream = named();
          if (stream === null) return channel.send(message);
          const event = emit(stream, message);
          return detached ? true : channel.send(message, event.id);
        },
        pause: (retryMs) => {
          const stream = named();
          if (stream === null || detached) return;
          // A stream not open yet starts with a priming event (no data), so there is an id to resume from.
          if (!channel.isStream) channel.prime(emit(stream, {}).id);
          detached = true;
          channel.close(retryMs);
        },
      },
      detach: () => {
        detached = true;
      },
      finish: (reply) => {
        if (!name) {
          channel.finish(reply);
          return;
        }
        this.running.delete(name.stream);
        const event = emit(name, reply);
        if (detached) return;
        channel.finish(reply, 200, event.id);
        // Answered on its own connection: kept briefly, for a connection that broke unnoticed.
        this.bus.dropStream(sid, name.stream, ANSWERED_KEEP_MS);
      },
    };
  }

  private deliver(sid: string, stream: string, event: StreamEvent): void {
    for (const listener of this.listeners.get(this.key(sid, stream)) ?? []) listener(event);
  }
}

/** One POST's resumable response stream (see `PostStreamHub.open`). */
export interface PostStream {
  /** The call's outbound channel (progress, logs, server-to-client requests). */
  readonly out: Outbound;
  /** The client went away: events from now on are published for a resumed stream. */
  detach(): void;
  /** The request's response: the stream's last event. */
  finish(reply: Json): void;
}
