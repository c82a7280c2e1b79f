import { lookup } from "node:dns/promises";
import { addressProblem } from "@omni/kit/addresses";
import ipaddr from "ipaddr.js";

/** Every address a host name resolves to (the system resolver, like the SDK transports' `fetch`). */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** Public unicast only, by the platform's one address classifier (`@omni/kit/addresses`). */
export function isPublicAddress(address: string): boolean {
  return ipaddr.isValid(address) && addressProblem(address, false) === null;
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
    for (const address of addresses) {
      const problem = addressProblem(address, false);
      if (problem) {
        return (
          `url host ${host} is a private, loopback or link-local address (${problem}); ` +
          "the operator can allow it with FEDERATION_ALLOWED_PRIVATE_HOSTS"
        );
      }
    }
    return null;
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
