import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import type { Flags, Result } from "lighthouse";
import type { Page } from "puppeteer-core";
import * as v from "valibot";
import { artifactLink, saveArtifact } from "../artifacts.ts";
import { type CdpConnection, SharedConnectionTransport } from "../cdp-transport.ts";
import type { Session, SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import { Effect } from "./util.ts";

const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"] as const;
const MAX_NODES_PER_AUDIT = 5;

const DESKTOP: Flags = {
  formFactor: "desktop",
  screenEmulation: { mobile: false, width: 1350, height: 940, deviceScaleFactor: 1, disabled: false },
  throttling: {
    rttMs: 40,
    throughputKbps: 10 * 1024,
    cpuSlowdownMultiplier: 1,
    requestLatencyMs: 0,
    downloadThroughputKbps: 0,
    uploadThroughputKbps: 0,
  },
};
const MOBILE: Flags = {
  formFactor: "mobile",
  screenEmulation: { mobile: true, width: 412, height: 823, deviceScaleFactor: 1.75, disabled: false },
};

/** The server's CDP connection as the puppeteer transport needs it. */
function connectionOf(session: Session, sessions: SessionManager): CdpConnection {
  const send = session.client.send as unknown as (
    method: string,
    params: Record<string, unknown>,
    sessionId?: string,
  ) => Promise<unknown>;
  return {
    send: (method, params, sessionId) => send.call(session.client, method, params, sessionId),
    onEvent: (listener) => sessions.host.onEvent(listener),
  };
}

/** Run Lighthouse on a tab through puppeteer over the existing connection (no debugging port needed). */
async function runLighthouse(
  session: Session,
  sessions: SessionManager,
  tab: Tab,
  flags: Flags,
  mode: "navigation" | "snapshot",
): Promise<Result> {
  // Loaded on first use: Lighthouse and puppeteer add ~1 s to the server's start-up.
  const [{ default: lighthouse, snapshot }, { default: puppeteer }] = await Promise.all([
    import("lighthouse"),
    import("puppeteer-core"),
  ]);
  const transport = await SharedConnectionTransport.open(connectionOf(session, sessions), session.contextId);
  const browser = await puppeteer.connect({ transport, defaultViewport: null });
  try {
    // The transport shows puppeteer this session's tabs only; find the current one.
    let page: Page | undefined;
    for (const candidate of await browser.pages()) {
      const cdp = await candidate.createCDPSession();
      const { targetInfo } = await cdp.send("Target.getTargetInfo");
      await cdp.detach().catch(() => undefined);
      if (targetInfo.targetId === tab.targetId) page = candidate;
    }
    if (!page) throw new ToolError("Lighthouse could not attach to the current tab");
    const run =
      mode === "navigation"
        ? await lighthouse(tab.url, flags, undefined, page)
        : await snapshot(page, { flags });
    if (!run) throw new ToolError("Lighthouse returned no result");
    return run.lhr;
  } finally {
    await browser.disconnect().catch(() => undefined);
    transport.close();
  }
}

type Audit = Result["audits"][string];

interface FailingAudit {
  id: string;
  title: string;
  score: number;
  categories: string[];
  displayValue?: string;
  items: string[];
  totalItems: number;
}

/** What an audit flagged, one short line each (elements by selector and snippet, or URLs). */
function flagged(audit: Audit): string[] {
  const out = new Set<string>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 6 || out.size > 50 || value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record.type === "debugdata" || record.type === "subitems" || record.type === "screenshot") return;
    if (record.type === "node") {
      const label = [record.selector, record.snippet].filter((s) => typeof s === "string").join(" ");
      if (label) out.add(label.slice(0, 200));
      return;
    }
    if (typeof record.url === "string" && depth > 2) {
      out.add(record.url.slice(0, 200));
      return;
    }
    for (const [key, child] of Object.entries(record)) if (key !== "subItems") visit(child, depth + 1);
  };
  visit(audit.details, 0);
  return [...out];
}

/** Scores per category and the failing audits, short enough for a model to read whole. */
export function summarizeLighthouse(lhr: Result) {
  const categoriesOf = new Map<string, string[]>();
  for (const category of Object.values(lhr.categories)) {
    for (const ref of category.auditRefs) {
      if (ref.weight === 0 && category.id === "performance" && ref.group !== "metrics") continue;
      categoriesOf.set(ref.id, [...(categoriesOf.get(ref.id) ?? []), category.id]);
    }
  }
  const scores: Record<string, number | null> = {};
  for (const category of Object.values(lhr.categories)) {
    scores[category.id] = category.score === null ? null : Math.round(category.score * 100);
  }
  const failing: FailingAudit[] = [];
  for (const audit of Object.values(lhr.audits)) {
    if (audit.score === null || audit.score >= 0.9) continue;
    if (audit.scoreDisplayMode === "informative" || audit.scoreDisplayMode === "notApplicable") continue;
    const categories = categoriesOf.get(audit.id);
    if (!categories) continue;
    const items = flagged(audit);
    const entry: FailingAudit = {
      id: audit.id,
      title: audit.title,
      score: Math.round(audit.score * 100),
      categories,
      items: items.slice(0, MAX_NODES_PER_AUDIT),
      totalItems: items.length,
    };
    if (audit.displayValue) entry.displayValue = audit.displayValue;
    failing.push(entry);
  }
  failing.sort((a, b) => a.score - b.score);
  const metrics: Record<string, string> = {};
  for (const id of [
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "cumulative-layout-shift",
    "speed-index",
  ]) {
    const audit = lhr.audits[id];
    if (audit?.displayValue) metrics[id] = audit.displayValue;
  }
  return { url: lhr.finalDisplayedUrl, scores, metrics, failing, warnings: lhr.runWarnings };
}

export function lighthouseTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_lighthouse_audit",
      title: "Lighthouse audit",
      description:
        "Run Lighthouse on the current tab (in this session's own browser context, cookies kept): scores for performance, accessibility, best practices and SEO, the metrics, and each failing audit with the elements or URLs it flagged. The full report is saved as JSON and HTML resources (devtools://artifacts/…). Navigation mode reloads the page; snapshot mode audits the page as it is now (no performance score). Takes 10-40 s.",
      input: v.object({
        mode: v.optional(
          v.pipe(
            v.picklist(["navigation", "snapshot"]),
            v.description(
              "navigation (default): reload and audit the load; snapshot: audit the current state",
            ),
          ),
          "navigation",
        ),
        device: v.optional(
          v.pipe(v.picklist(["desktop", "mobile"]), v.description("Device to emulate (default desktop)")),
          "desktop",
        ),
        categories: v.optional(
          v.pipe(
            v.array(v.picklist(CATEGORIES)),
            v.minLength(1, "categories must name at least one category"),
            v.description("Categories to audit (default all four)"),
          ),
        ),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.tab(ctx);
        if (!/^https?:/.test(tab.url)) {
          throw new ToolError(`Lighthouse audits http(s) pages; the current tab shows ${tab.url}`);
        }
        if (session.tracing)
          throw new ToolError("A trace is recording: stop it with chrome_stop_trace first");
        const categories = (args.categories ?? [...CATEGORIES]).filter(
          (c) => args.mode === "navigation" || c !== "performance",
        );
        const flags: Flags = {
          ...(args.device === "desktop" ? DESKTOP : MOBILE),
          onlyCategories: categories,
          // Keep the session's cookies and storage (a logged-in page stays logged in).
          disableStorageReset: true,
          maxWaitForLoad: sessions.options.navigationTimeoutMs,
          logLevel: "error",
        };
        await ctx.progress(0, 2, `running Lighthouse (${args.mode})`);
        const lhr = await runLighthouse(session, sessions, tab, flags, args.mode);
        await ctx.progress(1, 2, "summarising");
        const summary = summarizeLighthouse(lhr);
        const json = saveArtifact(session, "lighthouse", "lighthouse-report.json", "application/json", {
          text: JSON.stringify(lhr),
        });
        const { generateReport } = await import("lighthouse");
        const html = saveArtifact(session, "lighthouse", "lighthouse-report.html", "text/html", {
          text: generateReport(lhr, "html"),
        });
        const scoreLine = Object.entries(summary.scores)
          .map(([id, score]) => `${id} ${score ?? "–"}`)
          .join(", ");
        const data = {
          ...summary,
          mode: args.mode,
          device: args.device,
          reports: { json: `devtools://artifacts/${json.id}`, html: `devtools://artifacts/${html.id}` },
        };
        return {
          content: [
            {
              type: "text",
              text: `Lighthouse ${args.mode} (${args.device}) of ${summary.url}: ${scoreLine}. ${summary.failing.length} failing audit(s).\n${JSON.stringify(data, null, 2)}`,
            },
            artifactLink(json),
            artifactLink(html),
          ],
          structuredContent: data,
        };
      },
    }),
  ];
}
