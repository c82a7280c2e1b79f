import { type ClientCapabilities, type LogLevel, type RequestId, statelessSessionKey } from "@omni/contracts";
import type { Caller } from "../../ports.ts";
import type { Json } from "../protocol.ts";
import type { Session } from "../session.ts";

/** Where server-initiated messages of one call (or a session's stream) are written. */
export interface Outbound {
  /** Writes one message; false when the receiver went away. */
  send(message: Json): boolean;
  /** Ends the stream (session ended); with `retryMs`, tells the client to reconnect after that long. */
  close?(retryMs?: number): void;
  /**
   * Ends a resumable response stream now while its call goes on (SEP-1699 polling): the client
   * reconnects after `retryMs` and gets the rest. Only resumable streams have it (`post-stream.ts`).
   */
  pause?(retryMs: number): void;
}

/** Which method set serves the call (see `eras.ts`). */
export type EraName = "session" | "modern" | "task";

/**
 * One call, as the edge that received it describes it: every handler reads what it needs from here and
 * from its typed params, never from a transport's objects. Built by `sessionCall` (2025 HTTP and
 * WebSocket), the 2026-07-28 HTTP edge and the task runner.
 */
export interface CallContext {
  readonly era: EraName;
  /** The JSON-RPC id (a task's id for task runs). */
  readonly id: RequestId;
  readonly caller: Caller;
  readonly clientCapabilities: ClientCapabilities;
  /** Server-to-client requests are answered while the call runs (2025 session), else they round-trip. */
  readonly live: boolean;
  /** Answers of earlier `input_required` rounds, by request key (non-live calls). */
  readonly inputResponses: Record<string, unknown> | undefined;
  /** Minimum level of the log messages the client wants; absent: every level (2025) or none (2026-07-28). */
  readonly logLevel: LogLevel | undefined;
  /** Aborted when the client cancels or goes away. */
  readonly signal: AbortSignal;
  /** Stable key for per-client state kept by servers (2025: the session id; else org and user). */
  readonly sessionKey: string;
  /** Progress, logs and (live calls) server-to-client requests of this call. */
  readonly out: Outbound;
  /** The 2025 session the call belongs to: its log level, subscriptions and live relays. */
  readonly session: Session | undefined;
  /** `gather`: run only a task tool's input-gathering step (the tasks extension, before the task exists). */
  readonly phase?: "gather";
}

/** The session key of a caller without a 2025 session (stateless requests, tasks). */
export function statelessKey(caller: Caller): string {
  return statelessSessionKey(caller.org.orgId, caller.credentialId ?? caller.org.userId ?? "org");
}
