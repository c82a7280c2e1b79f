import type * as Trace from "@paulirish/trace_engine";

/** A raw trace event as Chromium writes it. */
export interface RawTraceEvent {
  name?: string;
  cat?: string;
  ph?: string;
  ts?: number;
  dur?: number;
  pid?: number;
  tid?: number;
  args?: Record<string, unknown>;
}

/** The categories Chrome DevTools records (its defaults plus JS sampling), so every insight has its data. */
export const TRACE_CATEGORIES = [
  "-*",
  "blink.console",
  "blink.user_timing",
  "loading",
  "devtools.timeline",
  "disabled-by-default-devtools.target-rundown",
  "disabled-by-default-devtools.timeline.frame",
  "disabled-by-default-devtools.timeline.stack",
  "disabled-by-default-devtools.timeline",
  "disabled-by-default-devtools.v8-source-rundown-sources",
  "disabled-by-default-devtools.v8-source-rundown",
  "disabled-by-default-layout_shift.debug",
  "disabled-by-default-v8.inspector",
  "disabled-by-default-v8.cpu_profiler.hires",
  "disabled-by-default-v8.cpu_profiler",
  "disabled-by-default-lighthouse",
  "v8.execute",
  "v8",
  "navigation",
  "rail",
  "__metadata",
];

type ParsedTrace = NonNullable<ReturnType<Trace.TraceModel.Model["parsedTrace"]>>;
type InsightSet = Trace.Insights.Types.InsightSet;

/** One analysed trace of a session: the engine's result plus the raw events (for export and long tasks). */
export interface AnalysedTrace {
  id: string;
  url: string;
  parsed: ParsedTrace;
  events: RawTraceEvent[];
  /** Start of the trace (µs), for times relative to it. */
  origin: number;
}

// The engine was written for a browser page: it constructs DOMRects for layout shift regions.
function polyfillDomRect(): void {
  if ("DOMRect" in globalThis) return;
  class DOMRectPolyfill {
    constructor(
      public x = 0,
      public y = 0,
      public width = 0,
      public height = 0,
    ) {}
    get top() {
      return Math.min(this.y, this.y + this.height);
    }
    get left() {
      return Math.min(this.x, this.x + this.width);
    }
    get right() {
      return Math.max(this.x, this.x + this.width);
    }
    get bottom() {
      return Math.max(this.y, this.y + this.height);
    }
    static fromRect(r: { x?: number; y?: number; width?: number; height?: number } = {}) {
      return new DOMRectPolyfill(r.x, r.y, r.width, r.height);
    }
  }
  Object.defineProperty(globalThis, "DOMRect", {
    value: DOMRectPolyfill,
    configurable: true,
    writable: true,
  });
}

/**
 * Keep only what belongs to the traced tab: Chromium's trace covers the whole browser, so events of
 * other tabs (other sessions, other organizations) are dropped. Kept: every event of the renderer
 * processes that hosted the tab's frames, metadata, and browser-process events that name one of its frames.
 */
export function eventsOfTab(events: RawTraceEvent[], targetId: string): RawTraceEvent[] {
  const frames = new Set<string>([targetId]);
  const pids = new Set<number>();
  const frameOf = (e: RawTraceEvent): string | undefined => {
    const data = e.args?.data as { frame?: unknown; frameID?: unknown } | undefined;
    const frame = data?.frame ?? data?.frameID ?? (e.args as { frame?: unknown } | undefined)?.frame;
    return typeof frame === "string" ? frame : undefined;
  };
  for (const e of events) {
    const data = e.args?.data as
      | { frames?: { frame?: string; parent?: string; processId?: number }[]; processId?: number }
      | undefined;
    if (e.name === "TracingStartedInBrowser") {
      for (const f of data?.frames ?? []) {
        if (f.frame && (frames.has(f.frame) || (f.parent && frames.has(f.parent)))) {
          frames.add(f.frame);
          if (typeof f.processId === "number") pids.add(f.processId);
        }
      }
    }
    if (e.name === "FrameCommittedInBrowser") {
      const frame = frameOf(e);
      const parent = (data as { parent?: string } | undefined)?.parent;
      if (frame && (frames.has(frame) || (parent && frames.has(parent)))) {
        frames.add(frame);
        if (typeof data?.processId === "number") pids.add(data.processId);
      }
    }
  }
  const out: RawTraceEvent[] = [];
  for (const e of events) {
    if (e.name === "TracingStartedInBrowser") {
      const data = e.args?.data as { frames?: { frame?: string }[] } | undefined;
      const own = (data?.frames ?? []).filter((f) => f.frame && frames.has(f.frame));
      out.push({ ...e, args: { ...e.args, data: { ...data, frames: own } } });
      continue;
    }
    if (e.pid !== undefined && pids.has(e.pid)) {
      out.push(e);
      continue;
    }
    const frame = frameOf(e);
    if (frame ? frames.has(frame) : e.ph === "M" && e.name !== "process_labels") out.push(e);
  }
  return out;
}

/** Parse a trace with the DevTools trace engine (a fresh model each time: the model keeps what it parsed). */
export async function analyseTrace(id: string, url: string, events: RawTraceEvent[]): Promise<AnalysedTrace> {
  polyfillDomRect();
  // Loaded on first use, like Lighthouse: the engine is large.
  const engine = await import("@paulirish/trace_engine");
  const model = engine.TraceModel.Model.createWithAllHandlers();
  await model.parse(events as unknown as Trace.Types.Events.Event[]);
  const parsed = model.parsedTrace();
  if (!parsed) throw new Error("the trace engine returned no result");
  let origin = Number.POSITIVE_INFINITY;
  for (const e of events)
    if (typeof e.ts === "number" && e.ts > 0 && e.ph !== "M") origin = Math.min(origin, e.ts);
  return { id, url, parsed, events, origin: Number.isFinite(origin) ? origin : 0 };
}

const SKIPPED_KEYS = new Set([
  "strings",
  "title",
  "description",
  "docs",
  "relatedEvents",
  "createOverlays",
  "insightKey",
  "category",
  "frameId",
  "navigationId",
  "navigation",
  "state",
  "metricSavings",
  "wastedBytes",
  "warnings",
  "lantern",
  "rawSourceEvent",
  "frame",
  "isolate",
  "sampleTraceId",
  "scriptId",
]);

/** Keys whose numbers are trace microseconds: shown as milliseconds (`…Ms`). */
const MICRO_KEYS = new Set(["totalTime", "totalReflowTime", "range", "duration", "dur", "selfTime"]);

/** An i18n string of the engine (`{i18nId, values}`, with or without a formatted default) as text. */
function i18nText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (!value || typeof value !== "object") return undefined;
  const r = value as { formattedDefault?: unknown; i18nId?: unknown; values?: Record<string, unknown> };
  if (typeof r.formattedDefault === "string") return r.formattedDefault;
  if (typeof r.i18nId !== "string") return undefined;
  let text = r.i18nId;
  for (const [k, v] of Object.entries(r.values ?? {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

const ms = (micro: number) => Math.round(micro / 100) / 10;

/** A trace value as plain JSON a model can read: events by name, time and URL; maps and sets as lists. */
function readable(value: unknown, trace: AnalysedTrace, depth: number, maxItems: number): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === "number") return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string") return value.length > 300 ? `${value.slice(0, 300)}…` : value;
  if (typeof value === "boolean") return value;
  if (typeof value === "function") return undefined;
  if (depth <= 0) return "…";
  if (value instanceof Map) {
    return readable([...value.entries()], trace, depth, maxItems);
  }
  if (value instanceof Set) return readable([...value], trace, depth, maxItems);
  if (Array.isArray(value)) {
    // The engine lists one event per sample or reflow: identical entries are shown once with a count.
    const seen = new Map<string, { item: unknown; count: number }>();
    for (const v of value) {
      const item = readable(v, trace, depth - 1, maxItems);
      const key = JSON.stringify(item);
      const entry = seen.get(key);
      if (entry) entry.count++;
      else seen.set(key, { item, count: 1 });
    }
    const items: unknown[] = [...seen.values()]
      .slice(0, maxItems)
      .map(({ item, count }) =>
        count > 1 && item && typeof item === "object" && !Array.isArray(item)
          ? { ...item, times: count }
          : item,
      );
    if (seen.size > maxItems) items.push(`… ${seen.size - maxItems} more`);
    return items;
  }
  if (typeof value !== "object") return String(value);
  const record = value as Record<string, unknown>;
  if (typeof record.ph === "string" && typeof record.ts === "number" && typeof record.name === "string") {
    const data = (record.args as { data?: Record<string, unknown> } | undefined)?.data;
    const event: Record<string, unknown> = { event: record.name, atMs: ms(record.ts - trace.origin) };
    if (typeof record.dur === "number") event.durMs = ms(record.dur);
    if (typeof data?.url === "string") event.url = data.url;
    if (typeof data?.functionName === "string" && data.functionName) event.function = data.functionName;
    if (typeof data?.nodeName === "string") event.node = data.nodeName;
    if (typeof data?.statusCode === "number") event.status = data.statusCode;
    return event;
  }
  const text = i18nText(record);
  if (text !== undefined) return text;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(record)) {
    if (SKIPPED_KEYS.has(key)) continue;
    if (MICRO_KEYS.has(key) && typeof child === "number") {
      out[`${key}Ms`] = ms(child);
      continue;
    }
    const r = readable(child, trace, depth - 1, maxItems);
    if (r !== undefined) out[key] = r;
  }
  return out;
}

function savings(model: Trace.Insights.Types.InsightModel): Record<string, number> | undefined {
  const s = model.metricSavings;
  if (!s) return undefined;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(s)) {
    if (typeof value === "number" && value > 0) out[key] = Math.round(value * 1000) / 1000;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function insightSets(trace: AnalysedTrace): InsightSet[] {
  return [...(trace.parsed.insights?.values() ?? [])];
}

/** Main-thread tasks over 50 ms of the traced tab's renderer, each with the scripts that ran in it. */
export function longTasks(trace: AnalysedTrace, limit = 10) {
  const mains = new Set<string>();
  for (const e of trace.events) {
    if (e.ph === "M" && e.name === "thread_name" && (e.args as { name?: string })?.name === "CrRendererMain")
      mains.add(`${e.pid}:${e.tid}`);
  }
  const byThread = new Map<string, RawTraceEvent[]>();
  for (const e of trace.events) {
    const key = `${e.pid}:${e.tid}`;
    if (!mains.has(key) || e.ph !== "X" || typeof e.ts !== "number") continue;
    let list = byThread.get(key);
    if (!list) {
      list = [];
      byThread.set(key, list);
    }
    list.push(e);
  }
  const tasks: { atMs: number; durMs: number; scripts: { url: string; function?: string; ms: number }[] }[] =
    [];
  for (const list of byThread.values()) {
    list.sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
    for (const task of list) {
      if (task.name !== "RunTask" || (task.dur ?? 0) <= 50_000) continue;
      const start = task.ts ?? 0;
      const end = start + (task.dur ?? 0);
      const scripts = new Map<string, { url: string; function?: string; ms: number }>();
      for (const e of list) {
        if ((e.ts ?? 0) < start || (e.ts ?? 0) > end) continue;
        if (
          e.name !== "EvaluateScript" &&
          e.name !== "FunctionCall" &&
          e.name !== "TimerFire" &&
          e.name !== "EventDispatch"
        )
          continue;
        const data = e.args?.data as { url?: string; functionName?: string; type?: string } | undefined;
        const url = data?.url || (e.name === "EventDispatch" ? `event ${data?.type ?? ""}` : "");
        if (!url) continue;
        const key = `${url}|${data?.functionName ?? ""}`;
        const entry = scripts.get(key) ?? {
          url,
          ...(data?.functionName ? { function: data.functionName } : {}),
          ms: 0,
        };
        entry.ms = Math.round((entry.ms + (e.dur ?? 0) / 1000) * 10) / 10;
        scripts.set(key, entry);
      }
      tasks.push({
        atMs: ms(start - trace.origin),
        durMs: ms(task.dur ?? 0),
        scripts: [...scripts.values()].sort((a, b) => b.ms - a.ms).slice(0, 5),
      });
    }
  }
  tasks.sort((a, b) => b.durMs - a.durMs);
  return {
    count: tasks.length,
    totalMs: Math.round(tasks.reduce((a, t) => a + t.durMs, 0)),
    longestMs: Math.round(tasks[0]?.durMs ?? 0),
    tasks: tasks.slice(0, limit),
  };
}

/** LCP subparts as `{ label: ms }`. */
function subpartsMs(subparts: unknown): Record<string, number> | null {
  if (!subparts || typeof subparts !== "object") return null;
  const out: Record<string, number> = {};
  for (const part of Object.values(subparts as Record<string, { range?: number; label?: unknown }>)) {
    if (typeof part?.range === "number") out[i18nText(part.label) ?? "part"] = ms(part.range);
  }
  return out;
}

/** The headline of one insight: its title, state, estimated savings and its key figures. */
function headline(name: string, model: Trace.Insights.Types.InsightModel, trace: AnalysedTrace) {
  const entry: Record<string, unknown> = {
    insight: name,
    title: model.title.formattedDefault,
    state: model.state,
  };
  const saved = savings(model);
  if (saved) entry.savings = saved;
  const detail = model as unknown as Record<string, unknown>;
  switch (name) {
    case "LCPBreakdown":
      entry.lcpMs = typeof detail.lcpMs === "number" ? Math.round(detail.lcpMs) : null;
      entry.subparts = subpartsMs(detail.subparts);
      break;
    case "INPBreakdown":
      entry.longestInteraction = readable(detail.longestInteractionEvent, trace, 2, 5);
      break;
    case "CLSCulprits":
      entry.worstCluster = readable(detail.worstCluster, trace, 2, 5);
      entry.rootCauses = readable(detail.shifts, trace, 4, 5);
      break;
    case "ForcedReflow":
      entry.topLevelFunctionCall = readable(detail.topLevelFunctionCallData, trace, 3, 5);
      entry.reflowsBySource = readable(detail.aggregatedBottomUpData, trace, 3, 5);
      break;
    case "RenderBlocking":
      entry.requests = readable(detail.renderBlockingRequests, trace, 2, 10);
      break;
  }
  return entry;
}

const HEADLINE_INSIGHTS = ["LCPBreakdown", "INPBreakdown", "CLSCulprits", "ForcedReflow", "RenderBlocking"];

/** The trace's insights, concise: per insight set, the headline insights and the other failing ones. */
export function summariseInsights(trace: AnalysedTrace) {
  return insightSets(trace).map((set) => {
    const models = set.model as Record<string, Trace.Insights.Types.InsightModel | undefined>;
    const insights: Record<string, unknown>[] = [];
    for (const [name, model] of Object.entries(models)) {
      if (!model) continue;
      const relevant = HEADLINE_INSIGHTS.includes(name)
        ? model.state !== "pass" || name === "LCPBreakdown"
        : model.state === "fail";
      if (relevant) insights.push(headline(name, model, trace));
    }
    return {
      insightSetId: set.id,
      url: set.url.href,
      insights,
      available: Object.keys(models),
    };
  });
}

/** Everything one insight found, for drilling in. */
export function insightDetail(trace: AnalysedTrace, name: string, insightSetId?: string) {
  const sets = insightSets(trace);
  const set = insightSetId
    ? sets.find((s) => s.id === insightSetId)
    : (sets.find((s) => s.navigation) ?? sets[0]);
  if (!set) {
    return {
      error: `No insight set ${insightSetId ?? ""} in trace ${trace.id} (have: ${sets.map((s) => s.id).join(", ") || "none"})`,
    };
  }
  const models = set.model as Record<string, Trace.Insights.Types.InsightModel | undefined>;
  const model = models[name];
  if (!model) {
    return { error: `No insight ${name} in set ${set.id} (have: ${Object.keys(models).join(", ")})` };
  }
  return {
    insightSetId: set.id,
    url: set.url.href,
    insight: name,
    title: i18nText(model.title) ?? name,
    description: i18nText(model.description) ?? "",
    state: model.state,
    savings: savings(model) ?? null,
    wastedBytes: model.wastedBytes ?? null,
    docs: model.docs,
    detail: readable(model, trace, 6, 20),
  };
}
