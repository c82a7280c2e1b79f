import { randomBytes } from "node:crypto";
import { type ClientCapabilities, OrgContext } from "@omni/contracts";
import * as v from "valibot";
import type { Caller } from "../ports.ts";
import { openText, sealText } from "./modern/state.ts";
import { isSessionVersion, type Json, type SessionVersion } from "./protocol.ts";

/**
 * 2025 `Mcp-Session-Id`s that carry the session's identity sealed in them (agentgateway's way), so any
 * replica holding the deployment key serves any session without a lookup:
 *
 *   `s1.` + sid + `.` + base64url(iv ‖ AES-256-GCM(JSON) ‖ tag), with `omni-mcp/session/v1:<sid>` as AAD
 *
 * The sid (16 random bytes, base64url) is in clear: it names the session (admin API, upstream session key,
 * Redis keys); the sealed part binds it to the org, user and credential that created it, the negotiated
 * version, the client's capabilities and info, and an absolute expiry. Nothing but the sid is readable.
 * What a sealed id cannot do alone, revocation, is the session bus's (`session-bus.ts`).
 */

const PREFIX = "s1.";
const AAD_PREFIX = "omni-mcp/session/v1:";
/** Upper bound of a session id (headers stay small; capabilities beyond it are trimmed). */
const MAX_ID_CHARS = 4096;
const SID = /^[A-Za-z0-9_-]{22}$/;

/** What a session id seals: enough to rebuild the session on any replica. */
export interface SealedSession {
  sid: string;
  caller: Caller;
  protocolVersion: SessionVersion;
  clientCapabilities: ClientCapabilities;
  clientInfo: Json;
  createdAt: number;
  expiresAt: number;
}

const Payload = v.object({
  g: v.omit(OrgContext, ["requestId"]),
  c: v.nullable(v.string()),
  v: v.string(),
  cc: v.record(v.string(), v.unknown()),
  ci: v.record(v.string(), v.unknown()),
  t: v.number(),
  e: v.number(),
});
type Payload = v.InferOutput<typeof Payload>;

/** The client info worth keeping (name, title, version), bounded. */
function boundedInfo(info: Json): Json {
  const out: Json = {};
  for (const key of ["name", "title", "version"]) {
    const value = info[key];
    if (typeof value === "string") out[key] = value.slice(0, 128);
  }
  return out;
}

/** The client's capabilities; when huge (experimental blobs), only the standard ones. */
function boundedCapabilities(caps: ClientCapabilities): ClientCapabilities {
  if (JSON.stringify(caps).length <= 1024) return caps;
  const { experimental: _experimental, ...standard } = caps as ClientCapabilities & {
    experimental?: unknown;
  };
  return standard as ClientCapabilities;
}

export class SessionSealer {
  constructor(
    private readonly key: Buffer,
    /** Absolute lifetime of a session id (`SESSION_MAX_AGE_MS`). */
    readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (key.length !== 32) throw new Error("The session key must be 32 bytes");
  }

  /** A fresh sid and the session id sealing `session` for it. */
  seal(session: Omit<SealedSession, "sid" | "expiresAt" | "createdAt">): {
    token: string;
    sealed: SealedSession;
  } {
    const sid = randomBytes(16).toString("base64url");
    const createdAt = this.now();
    const sealed: SealedSession = {
      sid,
      caller: session.caller,
      protocolVersion: session.protocolVersion,
      clientCapabilities: boundedCapabilities(session.clientCapabilities),
      clientInfo: boundedInfo(session.clientInfo),
      createdAt,
      expiresAt: createdAt + this.maxAgeMs,
    };
    const payload: Payload = {
      g: sealed.caller.org,
      c: sealed.caller.credentialId ?? null,
      v: sealed.protocolVersion,
      cc: sealed.clientCapabilities as Record<string, unknown>,
      ci: sealed.clientInfo,
      t: createdAt,
      e: sealed.expiresAt,
    };
    const token = `${PREFIX}${sid}.${sealText(this.key, Buffer.from(AAD_PREFIX + sid), JSON.stringify(payload))}`;
    if (token.length > MAX_ID_CHARS) throw new Error("session id too large");
    return { token, sealed };
  }

  /** The sid of a well-formed session id (not verified), else null. */
  static sidOf(token: string): string | null {
    if (!token.startsWith(PREFIX) || token.length > MAX_ID_CHARS) return null;
    const sid = token.slice(PREFIX.length, PREFIX.length + 22);
    return SID.test(sid) && token[PREFIX.length + 22] === "." ? sid : null;
  }

  /** Opens a session id sealed under this key; null when forged, sealed under another key, or expired. */
  open(token: string): SealedSession | null {
    const sid = SessionSealer.sidOf(token);
    if (!sid) return null;
    const encoded = token.slice(PREFIX.length + 23);
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
    const plain = openText(this.key, Buffer.from(AAD_PREFIX + sid), encoded);
    if (plain === null || plain === "truncated") return null;
    const parsed = v.safeParse(Payload, JSON.parse(plain));
    if (!parsed.success || !isSessionVersion(parsed.output.v)) return null;
    const p = parsed.output;
    if (p.e <= this.now()) return null;
    return {
      sid,
      caller: {
        org: p.g,
        ...(p.c === null ? {} : { credentialId: p.c }),
      },
      protocolVersion: p.v as SessionVersion,
      clientCapabilities: p.cc as ClientCapabilities,
      clientInfo: p.ci as Json,
      createdAt: p.t,
      expiresAt: p.e,
    };
  }
}
