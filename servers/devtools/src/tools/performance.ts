import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { artifactLink, saveArtifact } from "../artifacts.ts";
import type { Session, SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import {
  type AnalysedTrace,
  analyseTrace,
  eventsOfTab,
  insightDetail,
  longTasks,
  type RawTraceEvent,
  summariseInsights,
  TRACE_CATEGORIES,
} from "../trace-insights.ts";
import { navigation } from "./navigation.ts";
import { Effect, result } from "./util.ts";

/**
 * Installed in the page when a trace starts (and on every new document while it runs): records layout
 * shifts, LCP candidates, long tasks and event timings (for INP) into `window.__omniVitals`.
 */
const VITALS_OBSERVER = `(() => {
  if (window.__omniVitals) return;
  const v = (window.__omniVitals = { lcp: null, lcpElement: null, shifts: [], events: [], longTasks: [] });
  const observe = (type, fn, extra) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(fn)).observe({ type, buffered: true, ...extra }); } catch {}
  };
  observe("largest-contentful-paint", (e) => {
    v.lcp = e.startTime;
    v.lcpElement = e.element ? e.element.tagName.toLowerCase() + (e.element.id ? "#" + e.element.id : "") : e.url || null;
  });
  observe("layout-shift", (e) => { if (!e.hadRecentInput) v.shifts.push({ t: e.startTime, value: e.value }); });
  observe("event", (e) => { if (e.interactionId) v.events.push({ name: e.name, duration: e.duration, t: e.startTime }); }, { durationThreshold: 16 });
  observe("longtask", (e) => v.longTasks.push({ t: e.startTime, duration: e.duration }));
})()`;

/** Read what the observer gathered, plus navigation and resource timing, as plain JSON. */
const VITALS_READ = `(() => {
  const v = window.__omniVitals || { lcp: null, lcpElement: null, shifts: [], events: [], longTasks: [] };
  let cls = 0, windowValue = 0, windowStart = 0, last = -Infinity;
  for (const s of v.shifts) {
    if (s.t - last > 1000 || s.t - windowStart > 5000) { windowValue = 0; windowStart = s.t; }
    windowValue += s.value; last = s.t; cls = Math.max(cls, windowValue);
  }
  const byInteraction = v.events.map((e) => e.duration).sort((a, b) => b - a);
  const inp = byInteraction.length ? byInteraction[Math.min(byInteraction.length - 1, Math.floor(byInteraction.length / 50))] : null;
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource").map((r) => ({
    url: r.name, type: r.initiatorType, durationMs: Math.round(r.duration),
    bytes: r.transferSize || r.encodedBodySize || 0, renderBlocking: r.renderBlockingStatus === "blocking",
  }));
  return {
    lcpMs: v.lcp === null ? null : Math.round(v.lcp), lcpElement: v.lcpElement,
    cls: Math.round(cls * 1000) / 1000, inpMs: inp === null ? null : Math.round(inp), interactions: v.events.length,
    observedLongTasks: v.longTasks.map((t) => ({ startMs: Math.round(t.t), durationMs: Math.round(t.duration) })),
    navigation: nav ? { ttfbMs: Math.round(nav.responseStart), domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd), loadMs: Math.round(nav.loadEventEnd) } : null,
    resources,
  };
})()`;

interface VitalsRead {
  lcpMs: number | null;
  lcpElement: string | null;
  cls: number;
  inpMs: number | null;
  interactions: number;
  observedLongTasks: { startMs: number; durationMs: number }[];
  navigation: { ttfbMs: number; domContentLoadedMs: number; loadMs: number } | null;
  resources: { url: string; type: string; durationMs: number; bytes: number; renderBlocking: boolean }[];
}

async function readTrace(tab: Tab, stream: string): Promise<{ text: string; events: RawTraceEvent[] }> {
  let text = "";
  for (;;) {
    const chunk = await tab.send("IO.read", { handle: stream, size: 1 << 20 });
    text += chunk.base64Encoded ? Buffer.from(chunk.data, "base64").toString("utf8") : chunk.data;
    if (chunk.eof) break;
  }
  await tab.send("IO.close", { handle: stream }).catch(() => undefined);
  const parsed: unknown = JSON.parse(text);
  const events = Array.isArray(parsed) ? parsed : (parsed as { traceEvents?: unknown }).traceEvents;
  return { text, events: Array.isArray(events) ? (events as RawTraceEvent[]) : [] };
}

/** The traces analysed in each session, newest last (a few are kept for chrome_performance_insight). */
const traces = new WeakMap<Session, AnalysedTrace[]>();
const MAX_TRACES = 3;

function latestTrace(session: Session, traceId: string | undefined): AnalysedTrace {
  const list = traces.get(session) ?? [];
  const trace = traceId ? list.find((t) => t.id === traceId) : list.at(-1);
  if (!trace) {
    throw new ToolError(
      traceId
        ? `No trace ${traceId} in this session (have: ${list.map((t) => t.id).join(", ") || "none"})`
        : "No trace recorded yet: record one with chrome_start_trace and chrome_stop_trace",
    );
  }
  return trace;
}

function rate(value: number | null, good: number, poor: number): string {
  if (value === null) return "not measured";
  return value <= good ? "good" : value <= poor ? "needs improvement" : "poor";
}

export function performanceTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_performance_metrics",
      title: "Page metrics",
      description:
        "Runtime metrics of the current tab (DOM nodes, JS heap, layout/style counts and durations, documents, listeners) and the Core Web Vitals measured so far (LCP, CLS).",
      input: v.object({}),
      annotations: Effect.read,
      async handler(_args, ctx) {
        const tab = await sessions.tab(ctx);
        await tab.send("Performance.enable", {});
        const { metrics } = await tab.send("Performance.getMetrics");
        await tab.evaluate(VITALS_OBSERVER);
        const vitals = (await tab.evaluate(VITALS_READ)).value as VitalsRead;
        const map = Object.fromEntries(metrics.map((m) => [m.name, m.value]));
        return result(`Metrics of ${tab.url}`, {
          metrics: map,
          webVitals: { lcpMs: vitals.lcpMs, cls: vitals.cls, navigation: vitals.navigation },
        });
      },
    }),
    defineTool({
      name: "chrome_start_trace",
      title: "Start performance trace",
      description:
        "Start recording a performance trace of the current tab (and Core Web Vitals observers). By default reloads the page so loading is measured; interact, then call chrome_stop_trace.",
      input: v.object({
        reload: v.optional(
          v.pipe(v.boolean(), v.description("Reload the page once recording (default true)")),
          true,
        ),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.tab(ctx);
        if (session.tracing)
          throw new ToolError("A trace is already recording: stop it with chrome_stop_trace");
        await tab.send("Page.addScriptToEvaluateOnNewDocument", { source: VITALS_OBSERVER });
        await tab.send("Tracing.start", {
          transferMode: "ReturnAsStream",
          traceConfig: {
            recordMode: "recordUntilFull",
            includedCategories: TRACE_CATEGORIES.filter((c) => c !== "-*"),
            excludedCategories: ["*"],
          },
        });
        session.tracing = { tabId: tab.targetId, startedAt: Date.now() };
        if (args.reload) {
          await navigation(tab, async () => void (await tab.send("Page.reload", {})), {
            until: "load",
            timeoutMs: sessions.options.navigationTimeoutMs,
            signal: ctx.signal,
          });
        } else {
          await tab.evaluate(VITALS_OBSERVER);
        }
        return result(
          `Tracing ${tab.url}${args.reload ? " (reloaded)" : ""}; call chrome_stop_trace when done`,
          {
            url: tab.url,
          },
        );
      },
    }),
    defineTool({
      name: "chrome_stop_trace",
      title: "Stop performance trace",
      description:
        "Stop the trace and report Core Web Vitals (LCP, CLS, INP when there were interactions) with a short analysis: long tasks, render-blocking resources, largest and slowest resources.",
      input: v.object({}),
      annotations: Effect.act,
      async handler(_args, ctx) {
        const session = await sessions.session(ctx);
        const tracing = session.tracing;
        if (!tracing) throw new ToolError("No trace is recording: start one with chrome_start_trace");
        const tab = session.tabs.get(tracing.tabId);
        session.tracing = null;
        if (!tab) throw new ToolError("The traced tab was closed");
        const complete = tab.waitFor(["Tracing.tracingComplete"]);
        await tab.send("Tracing.end");
        const done = await complete.promise;
        const stream = done.params.stream;
        const raw = typeof stream === "string" ? await readTrace(tab, stream) : { text: "", events: [] };
        const events = eventsOfTab(raw.events, tab.targetId);
        const vitals = (await tab.evaluate(VITALS_READ)).value as VitalsRead;
        const list = traces.get(session) ?? [];
        const trace = await analyseTrace(`trace-${list.length + 1}`, tab.url, events);
        const exported = saveArtifact(session, "trace", "trace.json", "application/json", {
          text: JSON.stringify({ traceEvents: events }),
        });
        trace.id = exported.id;
        list.push(trace);
        if (list.length > MAX_TRACES) list.shift();
        traces.set(session, list);
        const tasks = longTasks(trace);
        const insights = summariseInsights(trace);
        const blocking = vitals.resources.filter((r) => r.renderBlocking);
        const largest = [...vitals.resources].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
        const slowest = [...vitals.resources].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5);
        const findings: string[] = [];
        if (tasks.count > 0)
          findings.push(
            `${tasks.count} long task(s) blocked the main thread for ${tasks.totalMs} ms (longest ${tasks.longestMs} ms)`,
          );
        if (blocking.length > 0)
          findings.push(
            `${blocking.length} render-blocking resource(s): ${blocking.map((r) => r.url).join(", ")}`,
          );
        if (vitals.cls > 0.1) findings.push(`layout shifts add up to CLS ${vitals.cls}`);
        if (vitals.inpMs !== null && vitals.inpMs > 200)
          findings.push(`slow interaction: INP ${vitals.inpMs} ms`);
        if (slowest[0] && slowest[0].durationMs > 1000)
          findings.push(`slowest resource took ${slowest[0].durationMs} ms: ${slowest[0].url}`);
        const data = {
          url: tab.url,
          durationMs: Date.now() - tracing.startedAt,
          traceEvents: events.length,
          webVitals: {
            lcp: { ms: vitals.lcpMs, element: vitals.lcpElement, rating: rate(vitals.lcpMs, 2500, 4000) },
            cls: { value: vitals.cls, rating: rate(vitals.cls, 0.1, 0.25) },
            inp: {
              ms: vitals.inpMs,
              interactions: vitals.interactions,
              rating: rate(vitals.inpMs, 200, 500),
            },
          },
          navigation: vitals.navigation,
          longTasks: tasks,
          insights,
          traceId: trace.id,
          rawTrace: `devtools://artifacts/${exported.id}`,
          renderBlocking: blocking,
          largestResources: largest,
          slowestResources: slowest,
          findings,
        };
        const failing = insights.flatMap((set) =>
          set.insights.filter((i) => i.state === "fail").map((i) => String(i.insight)),
        );
        if (failing.length > 0) findings.push(`failing insights: ${[...new Set(failing)].join(", ")}`);
        const summary = `LCP ${vitals.lcpMs ?? "–"} ms, CLS ${vitals.cls}, INP ${vitals.inpMs ?? "–"} ms. ${findings.length ? `Findings: ${findings.join("; ")}.` : "Nothing notable slowed the page."} Drill into an insight with chrome_performance_insight.`;
        const out = result(summary, data);
        return { ...out, content: [...out.content, artifactLink(exported)] };
      },
    }),
    defineTool({
      name: "chrome_performance_insight",
      title: "Performance insight",
      description:
        "Everything one performance insight of a recorded trace found (the trace engine Chrome DevTools uses): e.g. LCPBreakdown, INPBreakdown, CLSCulprits, ForcedReflow, RenderBlocking, DocumentLatency, NetworkDependencyTree, ThirdParties, DOMSize. Names and insight set ids come from chrome_stop_trace.",
      input: v.object({
        insight: v.pipe(
          v.string(),
          v.minLength(1, "insight must not be empty"),
          v.description("Insight name, e.g. ForcedReflow"),
        ),
        insightSetId: v.optional(
          v.pipe(
            v.string(),
            v.description("Insight set id from chrome_stop_trace (default: the navigation's)"),
          ),
        ),
        traceId: v.optional(v.pipe(v.string(), v.description("Trace id (default: the latest trace)"))),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const trace = latestTrace(session, args.traceId);
        const detail = insightDetail(trace, args.insight, args.insightSetId);
        if ("error" in detail) throw new ToolError(String(detail.error));
        return result(`${detail.title} (${detail.state}) in ${trace.id}`, detail);
      },
    }),
  ];
}
