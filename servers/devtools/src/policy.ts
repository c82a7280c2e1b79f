import { lookup } from "node:dns/promises";
import { addressProblem } from "@omni/kit/addresses";
import ipaddr from "ipaddr.js";
import * as v from "valibot";

/** Schemes no session may open, whatever its organization allows. */
const BLOCKED_SCHEMES = new Set([
  "file:",
  "chrome:",
  "chrome-untrusted:",
  "chrome-extension:",
  "chrome-search:",
  "devtools:",
  "view-source:",
  "filesystem:",
  "javascript:",
]);
/** Schemes that load nothing from the network and are always allowed. */
const LOCAL_SCHEMES = new Set(["about:", "data:", "blob:"]);
const NETWORK_SCHEMES = new Set(["http:", "https:", "ws:", "wss:"]);

/** Cloud metadata services: never reachable, not even with `allowPrivateNetwork`. */
const METADATA_HOSTS = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "metadata.azure.com",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
  "instance-data",
  "instance-data.ec2.internal",
]);
/** Names that always mean this machine (RFC 6761 `localhost` and the usual /etc/hosts aliases). */
const LOOPBACK_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "localhost6",
  "localhost6.localdomain6",
  "ip6-localhost",
  "ip6-loopback",
]);
/** Suffixes of names that only exist on private networks (mDNS, RFC 8375, ICANN's `.internal`). */
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain"];

/** Organization settings read from `ctx.config.settings` (all optional). */
const PolicySettings = v.object({
  allowUrls: v.optional(v.array(v.string(), "settings.allowUrls must be an array of glob patterns")),
  denyUrls: v.optional(v.array(v.string(), "settings.denyUrls must be an array of glob patterns")),
  allowPrivateNetwork: v.optional(v.boolean("settings.allowPrivateNetwork must be true or false")),
});

/** A compiled glob and whether it is matched against the whole URL or only the host name. */
export { addressProblem };

export interface Glob {
  pattern: string;
  re: RegExp;
  wholeUrl: boolean;
}

export interface UrlPolicy {
  allow: Glob[];
  deny: Glob[];
  /** Session-level patterns set with chrome_block_urls (always matched against the whole URL). */
  blocked: Glob[];
  /**
   * The organization opted in to private networks (loopback, RFC 1918, link-local, CGNAT, unique-local,
   * `localhost` and `.local`-style names). Metadata services and `0.0.0.0`/`::` stay denied.
   */
  allowPrivateNetwork: boolean;
}

/** The policy of a session before its organization's settings are read: everything private denied. */
export const DEFAULT_POLICY: UrlPolicy = { allow: [], deny: [], blocked: [], allowPrivateNetwork: false };

/**
 * A glob: `*` matches any run of characters. A pattern with a `/` is matched against the whole URL
 * (e.g. `https://*.corp.com/` followed by `*`, or `*` then `/admin` then `*`), one without against the
 * host name (`*.example.com`, `intranet`) and, once resolved, against each of its addresses.
 */
export function compileGlob(pattern: string, wholeUrl = pattern.includes("/")): Glob {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return { pattern, re: new RegExp(`^${body}$`, "i"), wholeUrl };
}

/**
 * A URL's host name as policies see it: WHATWG-parsed (so `2130706433`, `0x7f.1`, `0177.0.0.1` and
 * `127.1` are already `127.0.0.1`, and IPv6 is compressed), without IPv6 brackets and trailing dots.
 */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.+$/, "");
}

/** The URL with its host in canonical form, for whole-URL globs (`http://a.com./x` → `http://a.com/x`). */
function canonicalHref(url: URL): string {
  const host = hostOf(url);
  if (host === url.hostname || host === "") return url.href;
  const copy = new URL(url.href);
  copy.hostname = url.hostname.startsWith("[") ? `[${host}]` : host;
  return copy.href;
}

function matches(glob: Glob, url: URL): boolean {
  return glob.wholeUrl ? glob.re.test(canonicalHref(url)) : glob.re.test(hostOf(url));
}

export function parsePolicySettings(settings: Record<string, unknown>): Omit<UrlPolicy, "blocked"> {
  const parsed = v.safeParse(PolicySettings, {
    allowUrls: settings.allowUrls,
    denyUrls: settings.denyUrls,
    allowPrivateNetwork: settings.allowPrivateNetwork,
  });
  if (!parsed.success) throw new Error(parsed.issues[0].message);
  return {
    allow: (parsed.output.allowUrls ?? []).map((p) => compileGlob(p)),
    deny: (parsed.output.denyUrls ?? []).map((p) => compileGlob(p)),
    allowPrivateNetwork: parsed.output.allowPrivateNetwork ?? false,
  };
}

/** Why a host name (not an IP literal) may not be loaded before it is even resolved, or null. */
function nameProblem(host: string, allowPrivateNetwork: boolean): string | null {
  if (METADATA_HOSTS.has(host)) return `${host} is a cloud metadata host`;
  if (allowPrivateNetwork) return null;
  if (LOOPBACK_NAMES.has(host)) return `${host} names this machine (loopback)`;
  const suffix = PRIVATE_SUFFIXES.find((s) => host.endsWith(s));
  if (suffix) return `${host} is a private-network name (${suffix})`;
  return null;
}

/**
 * Why a URL may not be loaded, judged on the URL alone (scheme, patterns, IP literals in any notation,
 * local and metadata names), or null when it may be pending resolution of its host name.
 */
export function checkUrl(policy: UrlPolicy, raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not an absolute URL`;
  }
  if (BLOCKED_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is blocked`;
  if (LOCAL_SCHEMES.has(url.protocol)) return null;
  if (!NETWORK_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  for (const glob of policy.blocked) {
    if (matches(glob, url)) return `the URL matches the blocked pattern "${glob.pattern}"`;
  }
  for (const glob of policy.deny) {
    if (matches(glob, url)) return `the organization's URL policy denies it ("${glob.pattern}")`;
  }
  if (policy.allow.length > 0 && !policy.allow.some((glob) => matches(glob, url))) {
    return "the organization's URL policy allows only listed sites";
  }
  const host = hostOf(url);
  if (host === "") return "the URL has no host";
  const problem = ipaddr.isValid(host)
    ? addressProblem(host, policy.allowPrivateNetwork)
    : nameProblem(host, policy.allowPrivateNetwork);
  return problem ? `${problem}; ${privateHint(policy)}` : null;
}

function privateHint(policy: UrlPolicy): string {
  return policy.allowPrivateNetwork
    ? "it is denied even with allowPrivateNetwork"
    : "private networks are denied unless the organization sets allowPrivateNetwork in its DevTools settings";
}

/** Resolves a host name to all of its addresses. */
export type Resolve = (host: string) => Promise<string[]>;

const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Host name resolution for the policy, cached briefly (and shared by concurrent lookups) so a page's
 * subresources do not each wait for DNS. A failed lookup is not cached.
 */
export class HostResolver {
  private readonly cache = new Map<string, { expires: number; addresses: Promise<string[]> }>();

  constructor(
    private readonly resolve: Resolve = systemResolve,
    private readonly ttlMs = 30_000,
    private readonly timeoutMs = 5000,
    private readonly maxEntries = 1000,
  ) {}

  lookup(host: string): Promise<string[]> {
    const now = Date.now();
    const hit = this.cache.get(host);
    if (hit && hit.expires > now) return hit.addresses;
    if (this.cache.size >= this.maxEntries) {
      for (const [key, entry] of this.cache) if (entry.expires <= now) this.cache.delete(key);
      const oldest = this.cache.keys().next();
      if (this.cache.size >= this.maxEntries && !oldest.done) this.cache.delete(oldest.value);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    const addresses = Promise.race([this.resolve(host), timeout]).finally(() => clearTimeout(timer));
    this.cache.set(host, { expires: now + this.ttlMs, addresses });
    addresses.catch(() => {
      if (this.cache.get(host)?.addresses === addresses) this.cache.delete(host);
    });
    return addresses;
  }
}

/**
 * Whether a connection to `host` (as a proxy sees it: a name or an IP literal, any notation) may be
 * opened, and to which address: IP literals and names as {@link checkUrl} judges them, host deny
 * patterns, then every address a name resolves to. The caller dials the returned address (the one
 * that was checked), never the name again.
 */
export async function decideHost(
  policy: UrlPolicy,
  rawHost: string,
  resolver: HostResolver,
): Promise<{ address: string } | { reason: string }> {
  let url: URL;
  try {
    url = new URL(`http://${rawHost.includes(":") && !rawHost.startsWith("[") ? `[${rawHost}]` : rawHost}/`);
  } catch {
    return { reason: `${rawHost} is not a valid host` };
  }
  const host = hostOf(url);
  for (const glob of [...policy.deny, ...policy.blocked]) {
    if (!glob.wholeUrl && glob.re.test(host))
      return { reason: `the URL policy denies ${host} ("${glob.pattern}")` };
  }
  if (ipaddr.isValid(host)) {
    const problem = addressProblem(host, policy.allowPrivateNetwork);
    return problem ? { reason: `${problem}; ${privateHint(policy)}` } : { address: host };
  }
  const problem = nameProblem(host, policy.allowPrivateNetwork);
  if (problem) return { reason: `${problem}; ${privateHint(policy)}` };
  let addresses: string[];
  try {
    addresses = await resolver.lookup(host);
  } catch (err) {
    return { reason: `${host} could not be resolved (${err instanceof Error ? err.message : String(err)})` };
  }
  for (const address of addresses) {
    const bad = addressProblem(address, policy.allowPrivateNetwork);
    if (bad) return { reason: `${host} resolves to ${address}: ${bad}; ${privateHint(policy)}` };
    const glob = policy.deny.find((g) => !g.wholeUrl && g.re.test(address));
    if (glob)
      return { reason: `${host} resolves to ${address}, which the URL policy denies ("${glob.pattern}")` };
  }
  const address = addresses[0];
  return address ? { address } : { reason: `${host} resolves to no address` };
}

/**
 * {@link checkUrl}, then for a host name: every address it resolves to must pass too (and must not match
 * a host deny pattern). A name that cannot be resolved is refused: the policy fails closed.
 */
export async function checkUrlResolved(
  policy: UrlPolicy,
  raw: string,
  resolver: HostResolver,
): Promise<string | null> {
  const reason = checkUrl(policy, raw);
  if (reason) return reason;
  const url = new URL(raw);
  if (!NETWORK_SCHEMES.has(url.protocol)) return null;
  const host = hostOf(url);
  if (ipaddr.isValid(host)) return null;
  let addresses: string[];
  try {
    addresses = await resolver.lookup(host);
  } catch (err) {
    return `${host} could not be resolved (${err instanceof Error ? err.message : String(err)})`;
  }
  if (addresses.length === 0) return `${host} resolves to no address`;
  for (const address of addresses) {
    const problem = addressProblem(address, policy.allowPrivateNetwork);
    if (problem) return `${host} resolves to ${address}: ${problem}; ${privateHint(policy)}`;
    const glob = policy.deny.find((g) => !g.wholeUrl && g.re.test(address));
    if (glob)
      return `${host} resolves to ${address}, which the organization's URL policy denies ("${glob.pattern}")`;
  }
  return null;
}
