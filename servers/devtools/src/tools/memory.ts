import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { compareHeaps, type HeapSummary, summarizeHeap } from "../heap.ts";
import type { Session, SessionManager } from "../sessions.ts";
import { Effect, result } from "./util.ts";

const MAX_SNAPSHOTS = 6;
const Limit = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(1),
    v.maxValue(500),
    v.description("How many constructors to list (default 25)"),
  ),
  25,
);
const SnapshotId = v.pipe(
  v.string(),
  v.minLength(1, "snapshot id must not be empty"),
  v.description("Id from chrome_take_heap_snapshot (e.g. heap-1) or the label it was taken with"),
);

function publicSummary(s: HeapSummary, limit: number, filter?: string) {
  const classes = s.classes.filter((c) => !filter || c.name.toLowerCase().includes(filter.toLowerCase()));
  return {
    id: s.id,
    label: s.label,
    takenAt: s.takenAt,
    nodeCount: s.nodeCount,
    totalSize: s.totalSize,
    bySelfSize: classes.slice(0, limit),
    byRetainedSize: [...classes].sort((a, b) => b.retainedSize - a.retainedSize).slice(0, limit),
    largestObjects: s.largestObjects,
    retainedSizeMethod:
      "dominator tree (weak edges ignored); a constructor's retained size sums its instances not immediately dominated by another instance of the same constructor",
  };
}

/** A kept snapshot by id (`heap-2`) or by the label it was taken with (the newest with that label). */
function snapshot(session: Session, idOrLabel: string): HeapSummary {
  const byId = session.heapSnapshots.get(idOrLabel);
  if (byId) return byId;
  const byLabel = [...session.heapSnapshots.values()].filter((s) => s.label === idOrLabel).at(-1);
  if (byLabel) return byLabel;
  const known =
    [...session.heapSnapshots.values()]
      .map((s) => (s.label !== s.id ? `${s.id} ("${s.label}")` : s.id))
      .join(", ") || "none yet";
  throw new ToolError(`No heap snapshot with id or label "${idOrLabel}" in this session (have: ${known})`);
}

export function memoryTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_take_heap_snapshot",
      title: "Take heap snapshot",
      description:
        "Collect garbage, take a V8 heap snapshot of the current tab and summarise it: largest constructors by self and retained size, largest objects. The snapshot is kept (by id) for chrome_compare_heap_snapshots.",
      input: v.object({
        label: v.optional(
          v.pipe(v.string(), v.description("A name to remember it by, e.g. 'before clicking'")),
        ),
        limit: Limit,
      }),
      annotations: Effect.readAgain,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.tab(ctx);
        await tab.send("HeapProfiler.enable");
        await tab.send("HeapProfiler.collectGarbage");
        const chunks: string[] = [];
        const stop = tab.listen("HeapProfiler.addHeapSnapshotChunk", (e) => {
          if (typeof e.params.chunk === "string") chunks.push(e.params.chunk);
        });
        try {
          await ctx.progress(0, 2, "taking snapshot");
          await tab.guard(tab.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false }));
        } finally {
          stop();
        }
        await ctx.progress(1, 2, "analysing");
        const id = `heap-${++session.heapSeq}`;
        let summary: HeapSummary;
        try {
          summary = summarizeHeap(JSON.parse(chunks.join("")), id, args.label ?? id);
        } catch (err) {
          throw new ToolError(`Could not read the heap snapshot: ${(err as Error).message}`);
        }
        session.heapSnapshots.set(id, summary);
        for (const old of session.heapSnapshots.keys()) {
          if (session.heapSnapshots.size <= MAX_SNAPSHOTS) break;
          session.heapSnapshots.delete(old);
        }
        return result(
          `Heap snapshot ${id}: ${summary.nodeCount} objects, ${(summary.totalSize / 1024 / 1024).toFixed(2)} MB`,
          publicSummary(summary, args.limit),
        );
      },
    }),
    defineTool({
      name: "chrome_summarize_heap_snapshot",
      title: "Summarise heap snapshot",
      description:
        "Summarise a kept heap snapshot again, optionally only constructors whose name contains a text.",
      input: v.object({
        id: SnapshotId,
        constructorContains: v.optional(
          v.pipe(v.string(), v.description("Only constructors whose name contains this")),
        ),
        limit: Limit,
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const s = snapshot(session, args.id);
        return result(
          `Heap snapshot ${s.id} (${s.label})`,
          publicSummary(s, args.limit, args.constructorContains),
        );
      },
    }),
    defineTool({
      name: "chrome_compare_heap_snapshots",
      title: "Compare heap snapshots",
      description:
        "Find what grew between two heap snapshots of the same tab: per constructor, objects allocated after the first and still alive in the second, objects freed, and the net change in count and size. Leaks show up at the top.",
      input: v.object({ before: SnapshotId, after: SnapshotId, limit: Limit }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const before = snapshot(session, args.before);
        const after = snapshot(session, args.after);
        const deltas = compareHeaps(before, after);
        const grew = deltas.filter((d) => d.sizeDelta > 0 || d.countDelta > 0).slice(0, args.limit);
        const top = grew[0];
        return result(
          `${before.id} → ${after.id}: heap ${after.totalSize - before.totalSize >= 0 ? "+" : ""}${after.totalSize - before.totalSize} bytes.${top ? ` Grew most: ${top.name} (+${top.countDelta} objects, +${top.sizeDelta} bytes)` : ""}`,
          {
            totalSizeDelta: after.totalSize - before.totalSize,
            nodeCountDelta: after.nodeCount - before.nodeCount,
            grew,
            shrank: deltas
              .filter((d) => d.sizeDelta < 0)
              .slice(-args.limit)
              .reverse(),
          },
        );
      },
    }),
  ];
}
