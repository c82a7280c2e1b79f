import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import type { Session, SessionManager } from "../sessions.ts";
import { goto, pageInfo } from "./navigation.ts";
import { Effect, result, TimeoutArg } from "./util.ts";

const TabId = v.pipe(
  v.string(),
  v.minLength(1, "tabId must not be empty"),
  v.description("A tab id from chrome_list_tabs (a unique prefix is enough)"),
);

export async function listTabs(session: Session) {
  return Promise.all(
    [...session.tabs.values()].map(async (tab) => {
      const page = await pageInfo(tab);
      return {
        tabId: tab.targetId,
        url: page.url,
        title: page.title,
        current: tab.targetId === session.currentTabId,
        ...(tab.dialog ? { dialog: tab.dialog } : {}),
      };
    }),
  );
}

function findTab(session: Session, tabId: string) {
  const matches = [...session.tabs.values()].filter(
    (t) => t.targetId === tabId || t.targetId.startsWith(tabId),
  );
  if (matches.length === 0)
    throw new ToolError(`No tab ${tabId} in this session: list them with chrome_list_tabs`);
  if (matches.length > 1) throw new ToolError(`Tab id ${tabId} is ambiguous: give more characters`);
  return matches[0]!;
}

export function tabTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_start_browser",
      title: "Start browser",
      description:
        "Start a private browser (its own context: cookies, storage and tabs shared with no other client) and open a first tab; returns its `browser` id. Clients without an MCP session (stateless) get a new browser on each call and must pass its id as `browser` to every later tool; in an MCP session the session's own browser is used (and other tools start it on demand).",
      input: v.object({}),
      annotations: Effect.act,
      async handler(_args, ctx) {
        const session = await sessions.start(ctx);
        if (!session.currentTab) await sessions.newTab(session);
        return result(
          `Browser ${session.id} ready (${sessions.host.version}): pass browser="${session.id}" to later calls`,
          {
            browser: session.id,
            version: sessions.host.version,
            tabs: await listTabs(session),
          },
        );
      },
    }),
    defineTool({
      name: "chrome_stop_browser",
      title: "Stop browser",
      description:
        "Close this client's browser (the one `browser` names, or the MCP session's own): every tab, cookie and storage entry of it is discarded. The shared Chromium keeps serving other clients.",
      input: v.object({}),
      annotations: Effect.discard,
      async handler(_args, ctx) {
        const closed = await sessions.dispose(ctx);
        return result(closed ? "Closed this client's browser context" : "This client had no browser open", {
          closed,
        });
      },
    }),
    defineTool({
      name: "chrome_browser_status",
      title: "Browser status",
      description: "Report the browser's state and version and this session's tabs and limits.",
      input: v.object({}),
      annotations: Effect.read,
      async handler(_args, ctx) {
        const session = sessions.peek(ctx);
        const data = {
          browser: {
            state: sessions.host.state,
            version: sessions.host.version ?? null,
            restarts: sessions.host.restarts,
            ...(sessions.host.lastError ? { lastError: sessions.host.lastError } : {}),
          },
          session: session
            ? {
                open: true,
                browser: session.id,
                tabs: await listTabs(session),
                idleClosesAfterMs: sessions.options.idleMs,
              }
            : { open: false },
          limits: {
            contextsForOrganization: sessions.countForOrg(ctx.org.orgId),
            maxContextsPerOrg: sessions.options.maxContextsPerOrg,
            maxTabsPerContext: sessions.options.maxTabsPerContext,
          },
        };
        return result(`Browser ${data.browser.state}; session ${session ? "open" : "not started"}`, data);
      },
    }),
    defineTool({
      name: "chrome_list_tabs",
      title: "List tabs",
      description: "List this session's tabs (id, URL, title, which one is current).",
      input: v.object({}),
      annotations: Effect.read,
      async handler(_args, ctx) {
        const session = await sessions.session(ctx);
        const tabs = await listTabs(session);
        return result(`${tabs.length} tab(s)`, { tabs });
      },
    }),
    defineTool({
      name: "chrome_new_tab",
      title: "New tab",
      description: "Open a new tab (optionally at a URL) and make it current.",
      input: v.object({
        url: v.optional(
          v.pipe(v.string(), v.url("url must be an absolute URL"), v.description("URL to open")),
        ),
        timeoutMs: TimeoutArg,
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.newTab(session);
        const page = args.url
          ? await goto(session, tab, args.url, {
              until: "load",
              timeoutMs: args.timeoutMs ?? sessions.options.navigationTimeoutMs,
              signal: ctx.signal,
            })
          : await pageInfo(tab);
        return result(`Opened tab ${tab.targetId}`, { tabId: tab.targetId, ...page });
      },
    }),
    defineTool({
      name: "chrome_select_tab",
      title: "Select tab",
      description: "Make a tab current: later tools act on it.",
      input: v.object({ tabId: TabId }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = findTab(session, args.tabId);
        session.currentTabId = tab.targetId;
        await tab.send("Page.bringToFront").catch(() => undefined);
        const page = await pageInfo(tab);
        return result(`Selected tab ${tab.targetId}: ${page.url}`, { tabId: tab.targetId, ...page });
      },
    }),
    defineTool({
      name: "chrome_close_tab",
      title: "Close tab",
      description: "Close a tab (the current one when tabId is omitted).",
      input: v.object({ tabId: v.optional(TabId) }),
      annotations: Effect.discardAgain,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = args.tabId ? findTab(session, args.tabId) : session.currentTab;
        if (!tab) throw new ToolError("This session has no open tab");
        await sessions.closeTab(session, tab);
        return result(`Closed tab ${tab.targetId}`, {
          closed: tab.targetId,
          current: session.currentTabId,
          remaining: session.tabs.size,
        });
      },
    }),
  ];
}
