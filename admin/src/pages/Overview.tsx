import type { UsageStats } from "@omni/contracts";
import { A } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { TimeChart } from "../components/Chart.tsx";
import { type Column, DataTable } from "../components/DataTable.tsx";
import { Async, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { ago, ms, percent } from "../lib/format.ts";

const RANGES = [
  { label: "1 hour", ms: 3600_000 },
  { label: "24 hours", ms: 86_400_000 },
  { label: "7 days", ms: 7 * 86_400_000 },
];

/** The columns both usage tables share; the numbers sort. */
const CALLS: Column<UsageStats> = { header: "Calls", sort: (row) => row.calls, cell: (row) => row.calls };
const latency = (p: "p50" | "p95"): Column<UsageStats> => ({
  header: p,
  sort: (row) => row[p] ?? -1,
  cell: (row) => ms(row[p]),
});

const healthTone = { healthy: "ok", degraded: "warn", down: "bad", unconfigured: "muted" } as const;

export default function Overview() {
  const [range, setRange] = createSignal(RANGES[1]!.ms);
  const usage = load((span) => {
    const to = new Date();
    return unwrap(
      api.usage.get({ query: { from: new Date(to.getTime() - span).toISOString(), to: to.toISOString() } }),
    );
  }, range);
  const servers = load(() => unwrap(api.servers.get()));

  return (
    <>
      <PageHeader
        title="Overview"
        subtitle="Calls, errors and latency from the audit log; server health from this gateway replica."
        actions={
          <>
            <label class="inline">
              Range
              <select value={range()} onChange={(e) => setRange(Number(e.currentTarget.value))}>
                <For each={RANGES}>{(r) => <option value={r.ms}>{r.label}</option>}</For>
              </select>
            </label>
            <button
              type="button"
              onClick={() => {
                usage.reload();
                servers.reload();
              }}
            >
              Refresh
            </button>
          </>
        }
      />
      <Async value={usage.value()} error={usage.error()} retry={usage.reload} what="usage">
        {(u) => (
          <>
            <div class="grid">
              <div class="panel">
                <div class="stat-label">Tool calls</div>
                <div class="stat" data-testid="calls">
                  {u.totals.calls}
                </div>
              </div>
              <div class="panel">
                <div class="stat-label">Error rate</div>
                <div class="stat">{percent(u.totals.errors, u.totals.calls)}</div>
                <div class="muted">{u.totals.errors} errors</div>
              </div>
              <div class="panel">
                <div class="stat-label">p50 / p95 latency</div>
                <div class="stat">{ms(u.totals.p95)}</div>
                <div class="muted">p50 {ms(u.totals.p50)}</div>
              </div>
            </div>
            <div class="two">
              <section class="panel" aria-labelledby="calls-chart">
                <h2 id="calls-chart">
                  Calls and errors per{" "}
                  {u.bucketSeconds >= 3600 ? `${u.bucketSeconds / 3600} h` : `${u.bucketSeconds / 60} min`}
                </h2>
                <Show when={u.series.length} fallback={<p class="muted">No calls in this range.</p>}>
                  <TimeChart
                    label="Tool calls and errors over time"
                    range={[Date.parse(String(u.from)) / 1000, Date.parse(String(u.to)) / 1000]}
                    x={u.series.map((p) => p.t)}
                    series={[
                      { label: "calls", values: u.series.map((p) => p.calls), color: "--accent" },
                      { label: "errors", values: u.series.map((p) => p.errors), color: "--bad" },
                    ]}
                  />
                </Show>
              </section>
              <section class="panel" aria-labelledby="latency-chart">
                <h2 id="latency-chart">p95 latency</h2>
                <Show when={u.series.length} fallback={<p class="muted">No calls in this range.</p>}>
                  <TimeChart
                    label="p95 tool-call latency over time"
                    range={[Date.parse(String(u.from)) / 1000, Date.parse(String(u.to)) / 1000]}
                    x={u.series.map((p) => p.t)}
                    series={[
                      { label: "p95", values: u.series.map((p) => p.p95), color: "--warn", unit: " ms" },
                    ]}
                  />
                </Show>
              </section>
            </div>
            <div class="two">
              <section aria-labelledby="by-server">
                <h2 id="by-server">By server</h2>
                <Show when={u.byServer.length} fallback={<p class="muted">No calls yet.</p>}>
                  <DataTable
                    caption="Calls by server"
                    rows={u.byServer}
                    key={(row) => row.server ?? ""}
                    columns={[
                      { header: "Server", cell: (row) => row.server ?? "—" },
                      CALLS,
                      {
                        header: "Errors",
                        sort: (row) => row.errors / (row.calls || 1),
                        cell: (row) => percent(row.errors, row.calls),
                      },
                      latency("p95"),
                    ]}
                  />
                </Show>
              </section>
              <section aria-labelledby="top-tools">
                <h2 id="top-tools">Top tools</h2>
                <Show when={u.byTool.length} fallback={<p class="muted">No calls yet.</p>}>
                  <DataTable
                    caption="Top tools"
                    rows={u.byTool.slice(0, 10)}
                    key={(row) => `${row.server ?? ""} ${row.tool}`}
                    columns={[
                      { header: "Tool", cell: (row) => <code>{row.tool}</code> },
                      CALLS,
                      { header: "Errors", sort: (row) => row.errors, cell: (row) => row.errors },
                      latency("p50"),
                      latency("p95"),
                    ]}
                  />
                </Show>
              </section>
            </div>
            <section aria-labelledby="recent-errors">
              <h2 id="recent-errors">Recent errors</h2>
              <Show
                when={u.recentErrors.length}
                fallback={<p class="muted">No failed calls in this range.</p>}
              >
                <ul>
                  <For each={u.recentErrors}>
                    {(e) => (
                      <li>
                        <A href={`/audit?action=tool.call&target=tool:${encodeURIComponent(e.tool)}`}>
                          <code>{e.tool}</code>
                        </A>{" "}
                        {ago(e.createdAt)}: {e.error ?? "failed"}
                      </li>
                    )}
                  </For>
                </ul>
              </Show>
            </section>
          </>
        )}
      </Async>
      <section aria-labelledby="health">
        <h2 id="health">Server health</h2>
        <Async
          value={servers.value()}
          error={servers.error()}
          retry={servers.reload}
          what="servers"
          empty={(s) => s.servers.length === 0}
        >
          {(s) => (
            <div class="grid">
              <For each={s.servers}>
                {(server) => (
                  <div class="panel">
                    <strong>{server.title}</strong>{" "}
                    <Badge tone={healthTone[server.health]}>{server.health}</Badge>{" "}
                    <Show when={!server.enabled}>
                      <Badge>disabled for this org</Badge>
                    </Show>
                    <div class="muted">
                      {server.instances.filter((i) => i.healthy).length}/{server.instances.length} instances
                      healthy · {server.tools} tools
                    </div>
                  </div>
                )}
              </For>
            </div>
          )}
        </Async>
      </section>
    </>
  );
}
