import { boundedMemo } from "../security/memo.ts";

/**
 * DNS-rebinding protection: the `Host` header must name an allowed host, and an `Origin` header, when
 * present, an allowed origin. Loopback names (any port) are always allowed; `ALLOWED_HOSTS` and
 * `ALLOWED_ORIGINS` add more (a host entry may carry a port; `*` allows any).
 */
export interface OriginPolicy {
  allowedHosts: string[];
  allowedOrigins: string[];
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

/** `host[:port]` as RFC 9110 allows it: a name or IPv4, or a bracketed IPv6, and a port up to 65535. */
const HOST_SYNTAX = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/;

function wellFormedHost(host: string): boolean {
  const m = HOST_SYNTAX.exec(host);
  return m !== null && (m[1] === undefined || Number(m[1]) <= 65535);
}

export function createOriginGuard(policy: OriginPolicy): (headers: Headers) => string | null {
  const hosts = new Set(policy.allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(policy.allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, "")));
  const anyHost = hosts.has("*");
  const anyOrigin = origins.has("*");

  const hostAllowed = (host: string): boolean =>
    anyHost || LOOPBACK.has(hostname(host)) || hosts.has(host) || hosts.has(hostname(host));

  const notAllowed = (host: string) =>
    `Host "${host}" is not allowed (DNS-rebinding protection); add it to ALLOWED_HOSTS`;
  /** The reason a `Host` header is refused, or null. */
  const hostProblem = (raw: string): string | null => {
    const host = raw.toLowerCase();
    if (!wellFormedHost(host)) return "The Host header is not a valid host[:port]";
    return hostAllowed(host) ? null : notAllowed(host);
  };
  /** The reason an `Origin` header is refused, or null. */
  const originProblem = (raw: string): string | null => {
    const origin = raw.toLowerCase();
    if (anyOrigin || origins.has(origin)) return null;
    let originHost = "";
    try {
      originHost = new URL(origin).host;
    } catch {
      return `Origin "${origin}" is not a valid origin`;
    }
    if (!LOOPBACK.has(hostname(originHost))) {
      return `Origin "${origin}" is not allowed (DNS-rebinding protection); add it to CORS_ORIGINS (a browser app that reads responses) or ALLOWED_ORIGINS`;
    }
    return null;
  };
  // Decided once per distinct header value (a client's own few), not per request.
  const hostVerdict = boundedMemo(256, hostProblem);
  const originVerdict = boundedMemo(256, originProblem);

  /** Returns null when allowed, else the reason for the 403. */
  return (headers) => {
    const host = headers.get("host");
    const refused = host === null ? notAllowed("") : hostVerdict(host);
    if (refused !== null) return refused;
    const origin = headers.get("origin");
    return origin ? originVerdict(origin) : null;
  };
}
