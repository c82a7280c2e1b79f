import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/** Every address a host name resolves to (the system resolver, like the SDK transports' `fetch`). */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`), if any. */
function carriedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address();
  if (ip.range() === "rfc6052") {
    const [, , , , , , hi = 0, lo = 0] = ip.parts;
    return new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  return null;
}

/** Public unicast only: not loopback, private, link-local (cloud metadata), CGNAT, unique-local, multicast… */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6") {
    const v4 = carriedIPv4(parsed as ipaddr.IPv6);
    if (v4) return v4.range() === "unicast";
  }
  return parsed.range() === "unicast";
}

/**
 * Where an org admin may point the gateway (server-side request forgery guard). An org-registered remote
 * upstream must be `http(s)` without credentials in the URL, and its host must resolve only to public
 * addresses, unless the operator allowed the host in `FEDERATION_ALLOWED_PRIVATE_HOSTS` (`*`: any).
 * Checked when the upstream is registered and again before every (re)connect, so a name re-pointed at a
 * private address later is refused too. Operator-defined upstreams (CLI, global rows) are not checked.
 */
export class UpstreamEgress {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    allowedPrivateHosts: readonly string[] = [],
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allowed = new Set(allowedPrivateHosts.map((host) => normalizeHost(host)));
  }

  /** Why the gateway will not reach `rawUrl` for an org, or null when it may. */
  async problem(rawUrl: string): Promise<string | null> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return "url is not a valid URL";
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return `url must be http or https, not ${url.protocol.replace(/:$/, "")}`;
    }
    if (url.username || url.password) {
      return "url must not carry credentials: put them in authHeader/authSecret, which are stored encrypted";
    }
    const host = normalizeHost(url.hostname);
    if (this.allowed.has("*") || this.allowed.has(host)) return null;
    let addresses: string[];
    if (ipaddr.isValid(host)) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        return `url host ${host} cannot be resolved`;
      }
      if (addresses.length === 0) return `url host ${host} cannot be resolved`;
    }
    const blocked = addresses.find((address) => !isPublicAddress(address));
    if (blocked === undefined) return null;
    return (
      `url host ${host} is a private, loopback or link-local address (${blocked}); ` +
      "the operator can allow it with FEDERATION_ALLOWED_PRIVATE_HOSTS"
    );
  }
}

/** Lower-case, IPv6 brackets dropped, trailing dot dropped. */
function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
}
