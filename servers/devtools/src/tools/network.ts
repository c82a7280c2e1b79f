import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { compileGlob } from "../policy.ts";
import type { SessionManager } from "../sessions.ts";
import { Effect, result, truncate } from "./util.ts";

/** Throttling presets (DevTools' values: latency ms, throughput in bytes/s). */
const PRESETS = {
  "Slow 3G": { latency: 2000, downloadThroughput: (500 * 1024) / 8, uploadThroughput: (500 * 1024) / 8 },
  "Fast 3G": {
    latency: 562.5,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  },
  "Slow 4G": {
    latency: 150,
    downloadThroughput: (9 * 1024 * 1024) / 8 / 1.5,
    uploadThroughput: (1.5 * 1024 * 1024) / 8,
  },
  "No throttling": { latency: 0, downloadThroughput: -1, uploadThroughput: -1 },
} as const;

export function networkTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_list_requests",
      title: "List network requests",
      description:
        "Network requests of the current tab, oldest first: id, method, URL, type, status, size, duration, failure or block reason.",
      input: v.object({
        urlContains: v.optional(v.pipe(v.string(), v.description("Only URLs containing this text"))),
        resourceType: v.optional(
          v.pipe(
            v.string(),
            v.description("Only this type: Document, Stylesheet, Script, Image, Fetch, XHR, Font …"),
          ),
        ),
        failedOnly: v.optional(
          v.pipe(v.boolean(), v.description("Only failed or blocked requests (and HTTP >= 400)")),
          false,
        ),
        limit: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(1000),
            v.description("Most recent requests to return (default 100)"),
          ),
          100,
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const requests = [...tab.requests.values()]
          .filter((r) => !args.urlContains || r.url.includes(args.urlContains))
          .filter((r) => !args.resourceType || r.type.toLowerCase() === args.resourceType.toLowerCase())
          .filter((r) => !args.failedOnly || r.failed !== undefined || (r.status ?? 0) >= 400)
          .slice(-args.limit)
          .map((r) => ({
            id: r.id,
            method: r.method,
            url: truncate(r.url, 500),
            type: r.type,
            status: r.status ?? null,
            ...(r.encodedSize !== undefined ? { bytes: r.encodedSize } : {}),
            ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
            ...(r.failed ? { failed: r.failed } : {}),
            ...(r.blockedBy ? { blockedBy: r.blockedBy } : {}),
            ...(r.finished ? {} : { pending: true }),
          }));
        return result(`${requests.length} request(s)`, { requests, blocked: tab.blocked.slice(-20) });
      },
    }),
    defineTool({
      name: "chrome_get_request",
      title: "Request details",
      description:
        "One request in full: the request headers the page set and those the network stack really sent (sentHeaders: Cookie, Host, …), POST data, status, the raw response headers (Set-Cookie included), timing, and the response body.",
      input: v.object({
        id: v.pipe(
          v.string(),
          v.minLength(1, "id must not be empty"),
          v.description("Request id from chrome_list_requests"),
        ),
        includeBody: v.optional(
          v.pipe(v.boolean(), v.description("Fetch the response body (default true)")),
          true,
        ),
        maxBodyChars: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(100),
            v.description("Cut the body after this many characters (default 20000)"),
          ),
          20_000,
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const req = tab.requests.get(args.id);
        if (!req)
          throw new ToolError(
            `No request ${args.id} in the current tab: list them with chrome_list_requests`,
          );
        let body: { text: string; base64Encoded: boolean } | { unavailable: string } | undefined;
        if (args.includeBody && req.finished && !req.failed) {
          body = await tab
            .send("Network.getResponseBody", { requestId: req.id })
            .then((b) => ({ text: truncate(b.body, args.maxBodyChars), base64Encoded: b.base64Encoded }))
            .catch((err: Error) => ({ unavailable: err.message }));
        }
        return result(`${req.method} ${req.url} → ${req.status ?? req.failed ?? "pending"}`, {
          ...req,
          ...(body ? { body } : {}),
        });
      },
    }),
    defineTool({
      name: "chrome_block_urls",
      title: "Block URLs",
      description:
        "Block requests whose URL matches any of these glob patterns (* = anything), in every tab of this session, on top of the organization's policy. An empty list unblocks.",
      input: v.object({
        patterns: v.pipe(
          v.array(v.string()),
          v.maxLength(100, "at most 100 patterns"),
          v.description("Glob patterns matched against the whole URL, e.g. *.png or *://ads.example.com/*"),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        session.setBlocked(args.patterns.map((p) => compileGlob(p, true)));
        return result(
          args.patterns.length ? `Blocking ${args.patterns.length} pattern(s)` : "No URLs blocked",
          {
            patterns: args.patterns,
          },
        );
      },
    }),
    defineTool({
      name: "chrome_set_extra_headers",
      title: "Extra HTTP headers",
      description:
        "Send these HTTP headers with every request of this session's tabs (replaces earlier ones; {} clears).",
      input: v.object({
        headers: v.pipe(v.record(v.string(), v.string()), v.description("Header name → value")),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        session.extraHeaders = { ...args.headers };
        for (const tab of session.tabs.values()) {
          await tab.send("Network.setExtraHTTPHeaders", { headers: args.headers });
        }
        return result(`Sending ${Object.keys(args.headers).length} extra header(s)`, {
          headers: Object.keys(args.headers),
        });
      },
    }),
    defineTool({
      name: "chrome_throttle_network",
      title: "Throttle network",
      description:
        "Emulate a slow network in every tab of this session (tabs opened later included): a preset (Slow 3G, Fast 3G, Slow 4G, No throttling) or custom values.",
      input: v.object({
        preset: v.optional(
          v.pipe(v.picklist(Object.keys(PRESETS) as (keyof typeof PRESETS)[]), v.description("Named preset")),
        ),
        latencyMs: v.optional(
          v.pipe(v.number(), v.minValue(0), v.description("Added round-trip latency (custom)")),
        ),
        downloadKbps: v.optional(
          v.pipe(v.number(), v.minValue(1), v.description("Download speed in kbit/s (custom)")),
        ),
        uploadKbps: v.optional(
          v.pipe(v.number(), v.minValue(1), v.description("Upload speed in kbit/s (custom)")),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const custom =
          args.latencyMs !== undefined || args.downloadKbps !== undefined || args.uploadKbps !== undefined;
        if (!args.preset && !custom)
          throw new ToolError("Give a preset or latencyMs/downloadKbps/uploadKbps");
        const conditions = args.preset
          ? PRESETS[args.preset]
          : {
              latency: args.latencyMs ?? 0,
              downloadThroughput: args.downloadKbps ? (args.downloadKbps * 1024) / 8 : -1,
              uploadThroughput: args.uploadKbps ? (args.uploadKbps * 1024) / 8 : -1,
            };
        await sessions.emulate(ctx, "network", [
          { method: "Network.emulateNetworkConditions", params: { offline: false, ...conditions } },
        ]);
        return result(`Network: ${args.preset ?? "custom"}`, {
          preset: args.preset ?? "custom",
          ...conditions,
        });
      },
    }),
    defineTool({
      name: "chrome_set_offline",
      title: "Offline mode",
      description:
        "Take every tab of this session offline (every request fails, navigator.onLine is false; tabs opened later too) or back online (which also ends network throttling).",
      input: v.object({ offline: v.pipe(v.boolean(), v.description("true = offline")) }),
      annotations: Effect.set,
      async handler(args, ctx) {
        await sessions.emulate(ctx, "network", [
          {
            method: "Network.emulateNetworkConditions",
            params: { offline: args.offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 },
          },
        ]);
        return result(args.offline ? "The session's tabs are offline" : "The session's tabs are online", {
          offline: args.offline,
        });
      },
    }),
  ];
}
