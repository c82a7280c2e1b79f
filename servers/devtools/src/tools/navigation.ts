import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import type { Session, SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import { Effect, result, sleep, TimeoutArg } from "./util.ts";

const WaitUntil = v.optional(
  v.pipe(
    v.picklist(["load", "domcontentloaded", "networkidle", "commit"]),
    v.description(
      "When the navigation counts as done: `load` (default), `domcontentloaded`, `networkidle` (no requests for 500 ms) or `commit` (the new document started)",
    ),
  ),
  "load",
);
type WaitUntil = v.InferOutput<typeof WaitUntil>;

/** Wait until no request has been in flight for `idleMs`. */
export async function waitNetworkIdle(tab: Tab, idleMs: number, deadline: number, signal: AbortSignal) {
  while (Date.now() < deadline) {
    if (tab.inflight.size === 0 && Date.now() - tab.lastNetworkActivity >= idleMs) return true;
    await sleep(50, signal);
  }
  return false;
}

/** How far the committed document got, as its main-frame events told (read without asking the page). */
type Progress = "started" | "committed" | "interactive" | "complete";

async function waitReady(
  tab: Tab,
  until: WaitUntil,
  deadline: number,
  signal: AbortSignal,
  reached: () => Progress,
): Promise<void> {
  if (until === "commit") return;
  const wanted = until === "domcontentloaded" ? ["interactive", "complete"] : ["complete"];
  for (let pass = 0; Date.now() < deadline; pass++) {
    // The new document's own DOMContentLoaded/load events answer without a round trip to the page; a new
    // document that committed is given one 50 ms wait for them before the page is asked.
    if (wanted.includes(reached())) break;
    if (pass > 0 || reached() === "started") {
      const state = await tab.evaluate("document.readyState").catch((err: unknown) => {
        if (err instanceof ToolError) throw err;
        return null;
      });
      if (typeof state?.value === "string" && wanted.includes(state.value)) break;
    }
    // Wake at once when the document reports progress, else look again in 50 ms.
    const progress = tab.waitFor(["Page.loadEventFired", "Page.domContentEventFired", "Tab.closed"]);
    try {
      await Promise.race([progress.promise, sleep(50, signal)]);
    } finally {
      progress.cancel();
    }
  }
  if (Date.now() >= deadline) throw new ToolError(`The page did not reach "${until}" in time`);
  if (until === "networkidle" && !(await waitNetworkIdle(tab, 500, deadline, signal))) {
    throw new ToolError("The network did not become idle in time");
  }
}

/**
 * Run a navigation and wait for it: the main frame must commit a new document (or navigate within the
 * document), then reach `until`.
 */
export async function navigation(
  tab: Tab,
  start: () => Promise<void>,
  opts: { until: WaitUntil; timeoutMs: number; signal: AbortSignal },
): Promise<{ url: string; title: string; status?: number }> {
  const deadline = Date.now() + opts.timeoutMs;
  const committed = tab.waitFor(
    ["Page.frameNavigated", "Page.navigatedWithinDocument", "Tab.closed"],
    (e) =>
      e.method !== "Page.frameNavigated" || !(e.params.frame as { parentId?: string } | undefined)?.parentId,
  );
  // The main frame's events in order: a DOMContentLoaded or load after the commit is the new document's.
  let progress: Progress = "started";
  const stopListening = [
    tab.listen("Page.frameNavigated", (e) => {
      if (!(e.params.frame as { parentId?: string } | undefined)?.parentId) progress = "committed";
    }),
    tab.listen("Page.domContentEventFired", () => {
      if (progress === "committed") progress = "interactive";
    }),
    tab.listen("Page.loadEventFired", () => {
      if (progress !== "started") progress = "complete";
    }),
  ];
  // The deadline timer is cleared as soon as the navigation commits (a pending one kept a stdio server
  // alive for up to the navigation timeout after stdin closed).
  const settled = new AbortController();
  try {
    await start();
    const timer = sleep(Math.max(0, deadline - Date.now()), AbortSignal.any([opts.signal, settled.signal]));
    timer.catch(() => undefined);
    const done = await Promise.race([committed.promise, timer.then(() => null)]);
    if (!done) throw new ToolError(`The navigation did not start within ${opts.timeoutMs} ms`);
    settled.abort();
    await waitReady(tab, opts.until, deadline, opts.signal, () => progress);
  } finally {
    settled.abort();
    committed.cancel();
    for (const stop of stopListening) stop();
  }
  return pageInfo(tab);
}

export async function pageInfo(tab: Tab): Promise<{ url: string; title: string; status?: number }> {
  const info = await tab.send("Target.getTargetInfo", { targetId: tab.targetId }).catch(() => null);
  if (info) {
    tab.url = info.targetInfo.url;
    tab.title = info.targetInfo.title;
  }
  const doc = [...tab.requests.values()].reverse().find((r) => r.type === "Document" && r.url === tab.url);
  return doc?.status === undefined
    ? { url: tab.url, title: tab.title }
    : { url: tab.url, title: tab.title, status: doc.status };
}

export async function assertAllowed(session: Session, url: string): Promise<void> {
  const reason = await session.checkUrl(url);
  if (reason) throw new ToolError(`Navigation to ${url} is blocked: ${reason}`);
}

/** Navigate a tab to a URL (policy-checked) and wait. */
export async function goto(
  session: Session,
  tab: Tab,
  url: string,
  opts: { until: WaitUntil; timeoutMs: number; signal: AbortSignal },
) {
  await assertAllowed(session, url);
  return navigation(
    tab,
    async () => {
      const nav = await tab.send("Page.navigate", { url });
      if (nav.errorText) {
        const blocked = tab.blocked.at(-1);
        const why =
          nav.errorText === "net::ERR_BLOCKED_BY_CLIENT" && blocked
            ? `${nav.errorText} (${blocked.reason})`
            : nav.errorText;
        throw new ToolError(`Navigation to ${url} failed: ${why}`);
      }
    },
    opts,
  );
}

export function navigationTools(sessions: SessionManager): ToolDefinition[] {
  const timeout = (ms: number | undefined) => ms ?? sessions.options.navigationTimeoutMs;
  return [
    defineTool({
      name: "chrome_navigate",
      title: "Navigate",
      description:
        "Open a URL in the current tab and wait for it to load. The organization's URL policy applies; file:, chrome: and devtools: URLs are always blocked.",
      input: v.object({
        url: v.pipe(v.string(), v.url("url must be an absolute URL"), v.description("Absolute URL to open")),
        waitUntil: WaitUntil,
        timeoutMs: TimeoutArg,
      }),
      annotations: Effect.load,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.tab(ctx);
        const page = await goto(session, tab, args.url, {
          until: args.waitUntil,
          timeoutMs: timeout(args.timeoutMs),
          signal: ctx.signal,
        });
        return result(
          `Loaded ${page.url}${page.status ? ` (HTTP ${page.status})` : ""}: "${page.title}"`,
          page,
        );
      },
    }),
    defineTool({
      name: "chrome_reload",
      title: "Reload",
      description: "Reload the current tab and wait for it to load.",
      input: v.object({
        ignoreCache: v.optional(
          v.pipe(v.boolean(), v.description("Bypass the cache (like Shift+Reload)")),
          false,
        ),
        waitUntil: WaitUntil,
        timeoutMs: TimeoutArg,
      }),
      annotations: Effect.load,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const page = await navigation(
          tab,
          async () => {
            await tab.send("Page.reload", { ignoreCache: args.ignoreCache });
          },
          { until: args.waitUntil, timeoutMs: timeout(args.timeoutMs), signal: ctx.signal },
        );
        return result(`Reloaded ${page.url}`, page);
      },
    }),
    ...(["back", "forward"] as const).map((direction) =>
      defineTool({
        name: `chrome_go_${direction}`,
        title: direction === "back" ? "Go back" : "Go forward",
        description: `Go ${direction} one entry in the current tab's history and wait for the page.`,
        input: v.object({ waitUntil: WaitUntil, timeoutMs: TimeoutArg }),
        annotations: Effect.actOnWeb,
        async handler(args, ctx) {
          const tab = await sessions.tab(ctx);
          const history = await tab.send("Page.getNavigationHistory");
          const entry = history.entries[history.currentIndex + (direction === "back" ? -1 : 1)];
          if (!entry) throw new ToolError(`There is no page to go ${direction} to`);
          const session = await sessions.session(ctx);
          await assertAllowed(session, entry.url);
          const page = await navigation(
            tab,
            async () => {
              await tab.send("Page.navigateToHistoryEntry", { entryId: entry.id });
            },
            { until: args.waitUntil, timeoutMs: timeout(args.timeoutMs), signal: ctx.signal },
          );
          return result(`Went ${direction} to ${page.url}`, page);
        },
      }),
    ),
    defineTool({
      name: "chrome_wait_for",
      title: "Wait for",
      description:
        "Wait until a CSS selector matches a visible element, a text appears (or disappears), the network is idle, or simply for a time. Give one condition; with none, waits timeoutMs.",
      input: v.object({
        selector: v.optional(v.pipe(v.string(), v.description("CSS selector to wait for (visible element)"))),
        text: v.optional(v.pipe(v.string(), v.description("Text that must appear in the page"))),
        textGone: v.optional(v.pipe(v.string(), v.description("Text that must disappear from the page"))),
        networkIdle: v.optional(
          v.pipe(v.boolean(), v.description("Wait for 500 ms without network requests")),
        ),
        timeoutMs: TimeoutArg,
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const timeoutMs = args.timeoutMs ?? 30_000;
        const started = Date.now();
        const deadline = started + timeoutMs;
        const conditions = [args.selector, args.text, args.textGone, args.networkIdle].filter(
          (c) => c !== undefined,
        );
        if (conditions.length === 0) {
          await sleep(timeoutMs, ctx.signal);
          return result(`Waited ${timeoutMs} ms`, { waitedMs: timeoutMs });
        }
        if (args.networkIdle && !(await waitNetworkIdle(tab, 500, deadline, ctx.signal))) {
          const pending = [...tab.inflight].map((id) => tab.requests.get(id)?.url ?? id).slice(0, 5);
          throw new ToolError(
            `The network was still busy after ${timeoutMs} ms (${tab.inflight.size} requests in flight: ${pending.join(", ")})`,
          );
        }
        const check = `(() => {
          const sel = ${JSON.stringify(args.selector ?? null)};
          const text = ${JSON.stringify(args.text ?? null)};
          const gone = ${JSON.stringify(args.textGone ?? null)};
          const body = document.body ? document.body.innerText : "";
          if (sel) {
            const el = document.querySelector(sel);
            if (!el) return false;
            const r = el.getBoundingClientRect();
            const s = getComputedStyle(el);
            if (r.width === 0 && r.height === 0 || s.visibility === "hidden" || s.display === "none") return false;
          }
          if (text && !body.includes(text)) return false;
          if (gone && body.includes(gone)) return false;
          return true;
        })()`;
        while (true) {
          const ok = await tab.evaluate(check);
          if (ok.value === true) break;
          if (Date.now() >= deadline) {
            throw new ToolError(`Timed out after ${timeoutMs} ms waiting for ${describe(args)}`);
          }
          await sleep(100, ctx.signal);
        }
        const waitedMs = Date.now() - started;
        return result(`Condition met: ${describe(args)}`, { waitedMs });
      },
    }),
  ];
}

function describe(args: {
  selector?: string;
  text?: string;
  textGone?: string;
  networkIdle?: boolean;
}): string {
  const parts: string[] = [];
  if (args.selector) parts.push(`selector ${JSON.stringify(args.selector)}`);
  if (args.text) parts.push(`text ${JSON.stringify(args.text)}`);
  if (args.textGone) parts.push(`text ${JSON.stringify(args.textGone)} to disappear`);
  if (args.networkIdle) parts.push("network idle");
  return parts.join(" and ");
}
