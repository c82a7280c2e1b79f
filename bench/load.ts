/**
 * A small closed-loop HTTP load generator for the benchmarks: `concurrency` workers send requests
 * back to back for `durationMs`, recording each latency. Loopback only, bounded in time and count.
 */
export interface LoadResult {
  label: string;
  concurrency: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) the servers under test spent per request, in µs, when measured. */
  serverCpuUs?: number;
  /** The gateway's own share of `serverCpuUs` (its process alone), for the targets through the gateway. */
  gatewayCpuUs?: number;
}

export interface LoadTarget {
  label: string;
  /** Sends one request; resolves true when the answer was right. */
  send: () => Promise<boolean>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export async function runLoad(
  target: LoadTarget,
  opts: { concurrency: number; durationMs: number; maxRequests?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const maxRequests = opts.maxRequests ?? 2_000_000;
  const deadline = performance.now() + opts.durationMs;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline && latencies.length + errors < maxRequests) {
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await target.send();
      } catch {
        ok = false;
      }
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    label: target.label,
    concurrency: opts.concurrency,
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Several rounds of one target summarised: the median of each metric (req/s, p50, p99) taken
 * separately, so one noisy round does not decide; requests and errors are totals.
 */
export function summarize(results: LoadResult[]): LoadResult {
  const first = results[0];
  if (!first) throw new Error("no results");
  return {
    label: first.label,
    concurrency: first.concurrency,
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    ...(results.every((r) => r.serverCpuUs !== undefined)
      ? { serverCpuUs: median(results.map((r) => r.serverCpuUs ?? 0)) }
      : {}),
    ...(results.every((r) => r.gatewayCpuUs !== undefined)
      ? { gatewayCpuUs: median(results.map((r) => r.gatewayCpuUs ?? 0)) }
      : {}),
  };
}

export function printTable(rows: LoadResult[], ceiling: Map<number, LoadResult>): void {
  const header = [
    "target",
    "c",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "req/s vs ceiling",
    "server CPU µs/req",
    "of which gateway",
  ];
  const lines = rows.map((r) => {
    const base = ceiling.get(r.concurrency);
    const ratio = base ? `${((r.rps / base.rps) * 100).toFixed(1)}%` : "-";
    return [
      r.label,
      String(r.concurrency),
      r.rps.toFixed(0),
      r.p50.toFixed(3),
      r.p99.toFixed(3),
      String(r.errors),
      ratio,
      r.serverCpuUs === undefined ? "-" : r.serverCpuUs.toFixed(0),
      r.gatewayCpuUs === undefined ? "-" : r.gatewayCpuUs.toFixed(0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(fmt(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const line of lines) console.log(fmt(line));
}
