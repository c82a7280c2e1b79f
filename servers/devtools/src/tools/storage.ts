import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import type { SessionManager } from "../sessions.ts";
import { Effect, result } from "./util.ts";

interface CookieInfo {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string;
}

const Kind = v.optional(
  v.pipe(v.picklist(["local", "session"]), v.description("localStorage (default) or sessionStorage")),
  "local",
);

export function storageTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_get_cookies",
      title: "Get cookies",
      description:
        "Cookies of this session's browser context (never another session's), optionally only those sent to a URL.",
      input: v.object({
        url: v.optional(
          v.pipe(
            v.string(),
            v.url("url must be an absolute URL"),
            v.description("Only cookies sent to this URL"),
          ),
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        let cookies: CookieInfo[];
        if (args.url) {
          const tab = await sessions.tab(ctx);
          cookies = (await tab.send("Network.getCookies", { urls: [args.url] })).cookies;
        } else {
          cookies = (await session.client.send("Storage.getCookies", { browserContextId: session.contextId }))
            .cookies;
        }
        const list = cookies.map((c) => ({
          name: c.name,
          value: c.value,
          domain: c.domain,
          path: c.path,
          expires: c.expires,
          httpOnly: c.httpOnly,
          secure: c.secure,
          ...(c.sameSite ? { sameSite: c.sameSite } : {}),
        }));
        return result(`${list.length} cookie(s)`, { cookies: list });
      },
    }),
    defineTool({
      name: "chrome_set_cookie",
      title: "Set cookie",
      description:
        "Set a cookie in this session's browser context (for the current page's URL unless url or domain is given).",
      input: v.object({
        name: v.pipe(v.string(), v.minLength(1, "name must not be empty"), v.description("Cookie name")),
        value: v.pipe(v.string(), v.description("Cookie value")),
        url: v.optional(
          v.pipe(
            v.string(),
            v.url("url must be an absolute URL"),
            v.description("URL the cookie belongs to"),
          ),
        ),
        domain: v.optional(v.pipe(v.string(), v.description("Cookie domain, e.g. .example.com"))),
        path: v.optional(v.pipe(v.string(), v.description("Cookie path (default /)"))),
        httpOnly: v.optional(v.pipe(v.boolean(), v.description("Hide the cookie from JavaScript"))),
        secure: v.optional(v.pipe(v.boolean(), v.description("Send only over HTTPS"))),
        sameSite: v.optional(v.pipe(v.picklist(["Strict", "Lax", "None"]), v.description("SameSite policy"))),
        expires: v.optional(
          v.pipe(v.number(), v.description("Expiry as Unix time in seconds (default: session cookie)")),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        let url = args.url;
        if (!url && !args.domain) {
          const current = session.currentTab?.url;
          if (!current || !/^https?:/.test(current)) {
            throw new ToolError("Give url or domain: the current tab shows no http(s) page");
          }
          url = current;
        }
        const { url: _u, ...rest } = args;
        await session.client.send("Storage.setCookies", {
          browserContextId: session.contextId,
          cookies: [{ ...rest, ...(url ? { url } : {}), path: args.path ?? "/" }],
        });
        return result(`Set cookie ${args.name}`, {
          name: args.name,
          url: url ?? null,
          domain: args.domain ?? null,
        });
      },
    }),
    defineTool({
      name: "chrome_clear_cookies",
      title: "Clear cookies",
      description:
        "Delete this session's cookies: all of them, or those with a name (optionally for a URL/domain).",
      input: v.object({
        name: v.optional(v.pipe(v.string(), v.description("Only cookies with this name"))),
        url: v.optional(
          v.pipe(
            v.string(),
            v.url("url must be an absolute URL"),
            v.description("Only cookies for this URL (with name)"),
          ),
        ),
        domain: v.optional(v.pipe(v.string(), v.description("Only cookies of this domain (with name)"))),
      }),
      annotations: Effect.discard,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        if (!args.name) {
          await session.client.send("Storage.clearCookies", { browserContextId: session.contextId });
          return result("Cleared all cookies of this session", { cleared: "all" });
        }
        const { cookies } = await session.client.send("Storage.getCookies", {
          browserContextId: session.contextId,
        });
        const keep = cookies.filter(
          (c) =>
            c.name !== args.name ||
            (args.domain !== undefined && c.domain.replace(/^\./, "") !== args.domain.replace(/^\./, "")) ||
            (args.url !== undefined && !new URL(args.url).hostname.endsWith(c.domain.replace(/^\./, ""))),
        );
        const removed = cookies.length - keep.length;
        await session.client.send("Storage.clearCookies", { browserContextId: session.contextId });
        if (keep.length > 0) {
          await session.client.send("Storage.setCookies", {
            browserContextId: session.contextId,
            cookies: keep.map((c) => ({
              name: c.name,
              value: c.value,
              domain: c.domain,
              path: c.path,
              secure: c.secure,
              httpOnly: c.httpOnly,
              ...(c.sameSite ? { sameSite: c.sameSite } : {}),
              ...(c.expires > 0 ? { expires: c.expires } : {}),
            })),
          });
        }
        return result(`Deleted ${removed} cookie(s) named ${args.name}`, { removed });
      },
    }),
    defineTool({
      name: "chrome_get_storage",
      title: "Get web storage",
      description: "localStorage or sessionStorage of the current page's origin: one key or every entry.",
      input: v.object({
        kind: Kind,
        key: v.optional(v.pipe(v.string(), v.description("One key (default: all)"))),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const store = `${args.kind}Storage`;
        const out = await tab.evaluate(
          args.key !== undefined
            ? `({ [${JSON.stringify(args.key)}]: ${store}.getItem(${JSON.stringify(args.key)}) })`
            : `Object.fromEntries(Object.keys(${store}).map((k) => [k, ${store}.getItem(k)]))`,
        );
        const entries = (out.value ?? {}) as Record<string, string | null>;
        return result(`${Object.keys(entries).length} ${store} entr(ies) for ${new URL(tab.url).origin}`, {
          entries,
        });
      },
    }),
    defineTool({
      name: "chrome_set_storage",
      title: "Set web storage",
      description: "Set a localStorage or sessionStorage entry for the current page's origin.",
      input: v.object({
        kind: Kind,
        key: v.pipe(v.string(), v.description("Key")),
        value: v.pipe(v.string(), v.description("Value")),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        await tab.evaluate(
          `${args.kind}Storage.setItem(${JSON.stringify(args.key)}, ${JSON.stringify(args.value)})`,
        );
        return result(`Set ${args.kind}Storage[${JSON.stringify(args.key)}]`, { key: args.key });
      },
    }),
    defineTool({
      name: "chrome_clear_storage",
      title: "Clear web storage",
      description:
        "Remove one key, or everything, from localStorage or sessionStorage of the current page's origin.",
      input: v.object({
        kind: Kind,
        key: v.optional(v.pipe(v.string(), v.description("One key (default: all)"))),
      }),
      annotations: Effect.discard,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        await tab.evaluate(
          args.key !== undefined
            ? `${args.kind}Storage.removeItem(${JSON.stringify(args.key)})`
            : `${args.kind}Storage.clear()`,
        );
        return result(args.key !== undefined ? `Removed ${args.key}` : `Cleared ${args.kind}Storage`, {
          cleared: args.key ?? "all",
        });
      },
    }),
  ];
}
