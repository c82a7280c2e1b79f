import * as v from "valibot";

const isArray = (x: unknown) => Array.isArray(x);

/** The parts of a V8 `.heapsnapshot` this module reads. */
const HeapSnapshotJson = v.object({
  snapshot: v.object({
    meta: v.object({
      node_fields: v.array(v.string()),
      node_types: v.array(v.unknown()),
      edge_fields: v.array(v.string()),
      edge_types: v.array(v.unknown()),
    }),
  }),
  nodes: v.custom<number[]>(isArray, "nodes must be an array"),
  edges: v.custom<number[]>(isArray, "edges must be an array"),
  strings: v.custom<string[]>(isArray, "strings must be an array"),
});

export interface ClassStat {
  name: string;
  count: number;
  selfSize: number;
  /** Sum of the retained sizes of instances not immediately dominated by an instance of the same class. */
  retainedSize: number;
}

export interface HeapSummary {
  id: string;
  label: string;
  takenAt: string;
  nodeCount: number;
  totalSize: number;
  classes: ClassStat[];
  largestObjects: { id: number; name: string; selfSize: number; retainedSize: number }[];
  /** Per node, for comparisons: V8's stable object id, class index into `classNames`, self size. */
  nodeIds: Float64Array;
  nodeClass: Int32Array;
  nodeSelf: Float64Array;
  classNames: string[];
}

function className(type: string, name: string): string {
  if (type === "object" || type === "native") return name;
  if (type === "closure") return "(closure)";
  if (type === "code") return "(compiled code)";
  if (type === "hidden" || type === "synthetic") return "(system)";
  if (type.includes("string")) return "(string)";
  return `(${type})`;
}

/**
 * Summarise a heap snapshot: instances and self size per constructor, and retained sizes from a real
 * dominator tree (Cooper–Harvey–Kennedy over the graph from the root, weak edges ignored).
 */
export function summarizeHeap(raw: unknown, id: string, label: string): HeapSummary {
  const parsed = v.safeParse(HeapSnapshotJson, raw);
  if (!parsed.success) throw new Error(`Not a V8 heap snapshot: ${parsed.issues[0].message}`);
  const { snapshot, nodes, edges, strings } = parsed.output;
  const nf = snapshot.meta.node_fields;
  const ef = snapshot.meta.edge_fields;
  const nodeTypes = snapshot.meta.node_types[0] as string[];
  const edgeTypes = snapshot.meta.edge_types[0] as string[];
  const NF = nf.length;
  const EF = ef.length;
  const fType = nf.indexOf("type");
  const fName = nf.indexOf("name");
  const fId = nf.indexOf("id");
  const fSelf = nf.indexOf("self_size");
  const fEdges = nf.indexOf("edge_count");
  const eType = ef.indexOf("type");
  const eTo = ef.indexOf("to_node");
  const weak = edgeTypes.indexOf("weak");
  const shortcut = edgeTypes.indexOf("shortcut");
  const n = nodes.length / NF;

  // Classes.
  const classIndex = new Map<string, number>();
  const classNames: string[] = [];
  const nodeClass = new Int32Array(n);
  const nodeIds = new Float64Array(n);
  const nodeSelf = new Float64Array(n);
  const firstEdge = new Int32Array(n + 1);
  let totalSize = 0;
  for (let i = 0, e = 0; i < n; i++) {
    const base = i * NF;
    const cls = className(nodeTypes[nodes[base + fType]!] ?? "unknown", strings[nodes[base + fName]!] ?? "");
    let c = classIndex.get(cls);
    if (c === undefined) {
      c = classNames.length;
      classNames.push(cls);
      classIndex.set(cls, c);
    }
    nodeClass[i] = c;
    nodeIds[i] = nodes[base + fId]!;
    nodeSelf[i] = nodes[base + fSelf]!;
    totalSize += nodeSelf[i]!;
    firstEdge[i] = e;
    e += nodes[base + fEdges]! * EF;
    firstEdge[i + 1] = e;
  }

  // Successors (strong edges) and a post-order from the root (node 0).
  const succ = (i: number, fn: (to: number) => void) => {
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += EF) {
      const t = edges[e + eType]!;
      if (t === weak || t === shortcut) continue;
      fn(edges[e + eTo]! / NF);
    }
  };
  const order = new Int32Array(n).fill(-1); // post-order number
  const post: number[] = [];
  const stack: number[] = [0];
  const edgeCursor = new Int32Array(n);
  const visited = new Uint8Array(n);
  visited[0] = 1;
  for (let i = 0; i < n; i++) edgeCursor[i] = firstEdge[i]!;
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    let pushed = false;
    while (edgeCursor[top]! < firstEdge[top + 1]!) {
      const e = edgeCursor[top]!;
      edgeCursor[top] = e + EF;
      const t = edges[e + eType]!;
      if (t === weak || t === shortcut) continue;
      const to = edges[e + eTo]! / NF;
      if (!visited[to]) {
        visited[to] = 1;
        stack.push(to);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      order[top] = post.length;
      post.push(top);
    }
  }

  // Predecessors of reachable nodes.
  const predCount = new Int32Array(n + 1);
  for (const i of post) succ(i, (to) => void predCount[to + 1]!++);
  for (let i = 0; i < n; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Int32Array(predCount[n]!);
  const fill = predCount.slice(0, n);
  for (const i of post) {
    succ(i, (to) => {
      preds[fill[to]!] = i;
      fill[to]!++;
    });
  }

  // Dominators (Cooper, Harvey, Kennedy: "A Simple, Fast Dominance Algorithm").
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true, rounds = 0; changed && rounds < 50; rounds++) {
    changed = false;
    for (let k = post.length - 1; k >= 0; k--) {
      const b = post[k]!;
      if (b === 0) continue;
      let newIdom = -1;
      for (let p = predCount[b]!; p < predCount[b + 1]!; p++) {
        const pred = preds[p]!;
        if (idom[pred] === -1) continue;
        newIdom = newIdom === -1 ? pred : intersect(pred, newIdom);
      }
      if (newIdom !== -1 && idom[b] !== newIdom) {
        idom[b] = newIdom;
        changed = true;
      }
    }
  }

  // Retained sizes: children before their dominators in post-order.
  const retained = new Float64Array(n);
  for (const i of post) retained[i]! += nodeSelf[i]!;
  for (const i of post) if (i !== 0 && idom[i]! >= 0) retained[idom[i]!]! += retained[i]!;

  const stats = classNames.map((name) => ({ name, count: 0, selfSize: 0, retainedSize: 0 }));
  for (let i = 1; i < n; i++) {
    const s = stats[nodeClass[i]!]!;
    s.count++;
    s.selfSize += nodeSelf[i]!;
    const dom = idom[i]!;
    if (visited[i] && (dom <= 0 || nodeClass[dom] !== nodeClass[i])) s.retainedSize += retained[i]!;
  }
  const classes = stats.filter((s) => s.count > 0).sort((a, b) => b.selfSize - a.selfSize);
  const largestObjects = post
    .filter((i) => i !== 0 && classNames[nodeClass[i]!] !== "(system)")
    .sort((a, b) => retained[b]! - retained[a]!)
    .slice(0, 15)
    .map((i) => ({
      id: nodeIds[i]!,
      name: classNames[nodeClass[i]!]!,
      selfSize: nodeSelf[i]!,
      retainedSize: retained[i]!,
    }));
  return {
    id,
    label,
    takenAt: new Date().toISOString(),
    nodeCount: n,
    totalSize,
    classes,
    largestObjects,
    nodeIds,
    nodeClass,
    nodeSelf,
    classNames,
  };
}

export interface ClassDelta {
  name: string;
  countDelta: number;
  sizeDelta: number;
  newObjects: number;
  newSize: number;
  deletedObjects: number;
  deletedSize: number;
}

/** What changed between two snapshots of one page, per class (objects matched by V8's stable ids). */
export function compareHeaps(before: HeapSummary, after: HeapSummary): ClassDelta[] {
  const deltas = new Map<string, ClassDelta>();
  const get = (name: string) => {
    let d = deltas.get(name);
    if (!d) {
      d = { name, countDelta: 0, sizeDelta: 0, newObjects: 0, newSize: 0, deletedObjects: 0, deletedSize: 0 };
      deltas.set(name, d);
    }
    return d;
  };
  const beforeIds = new Set<number>(before.nodeIds);
  const afterIds = new Set<number>(after.nodeIds);
  for (let i = 1; i < after.nodeIds.length; i++) {
    if (beforeIds.has(after.nodeIds[i]!)) continue;
    const d = get(after.classNames[after.nodeClass[i]!]!);
    d.newObjects++;
    d.newSize += after.nodeSelf[i]!;
  }
  for (let i = 1; i < before.nodeIds.length; i++) {
    if (afterIds.has(before.nodeIds[i]!)) continue;
    const d = get(before.classNames[before.nodeClass[i]!]!);
    d.deletedObjects++;
    d.deletedSize += before.nodeSelf[i]!;
  }
  for (const d of deltas.values()) {
    d.countDelta = d.newObjects - d.deletedObjects;
    d.sizeDelta = d.newSize - d.deletedSize;
  }
  return [...deltas.values()]
    .filter((d) => d.countDelta !== 0 || d.sizeDelta !== 0)
    .sort((a, b) => b.sizeDelta - a.sizeDelta || b.countDelta - a.countDelta);
}
