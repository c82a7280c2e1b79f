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

/** Organization settings read from `ctx.config.settings` (both optional). */
const PolicySettings = v.object({
  allowUrls: v.optional(v.array(v.string(), "settings.allowUrls must be an array of glob patterns")),
  denyUrls: v.optional(v.array(v.string(), "settings.denyUrls must be an array of glob patterns")),
});

/** A compiled glob and whether it is matched against the whole URL or only the host name. */
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
}

/**
 * A glob: `*` matches any run of characters. A pattern with a `/` is matched against the whole URL
 * (e.g. `https://*.corp.com/` followed by `*`, or `*` then `/admin` then `*`), one without against the host name (`*.example.com`, `intranet`).
 */
export function compileGlob(pattern: string, wholeUrl = pattern.includes("/")): Glob {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return { pattern, re: new RegExp(`^${body}$`, "i"), wholeUrl };
}

function matches(glob: Glob, url: URL): boolean {
  return glob.re.test(glob.wholeUrl ? url.href : url.hostname);
}

export function parsePolicySettings(settings: Record<string, unknown>): { allow: Glob[]; deny: Glob[] } {
  const parsed = v.safeParse(PolicySettings, {
    allowUrls: settings.allowUrls,
    denyUrls: settings.denyUrls,
  });
  if (!parsed.success) throw new Error(parsed.issues[0].message);
  return {
    allow: (parsed.output.allowUrls ?? []).map((p) => compileGlob(p)),
    deny: (parsed.output.denyUrls ?? []).map((p) => compileGlob(p)),
  };
}

/** Why a URL may not be loaded, or null when it may. */
export function checkUrl(policy: UrlPolicy, raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not an absolute URL`;
  }
  if (BLOCKED_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is blocked`;
  if (LOCAL_SCHEMES.has(url.protocol)) return null;
  if (
    url.protocol !== "http:" &&
    url.protocol !== "https:" &&
    url.protocol !== "ws:" &&
    url.protocol !== "wss:"
  ) {
    return `the ${url.protocol} scheme is not allowed`;
  }
  for (const glob of policy.blocked) {
    if (matches(glob, url)) return `the URL matches the blocked pattern "${glob.pattern}"`;
  }
  for (const glob of policy.deny) {
    if (matches(glob, url)) return `the organization's URL policy denies it ("${glob.pattern}")`;
  }
  if (policy.allow.length > 0 && !policy.allow.some((glob) => matches(glob, url))) {
    return "the organization's URL policy allows only listed sites";
  }
  return null;
}
