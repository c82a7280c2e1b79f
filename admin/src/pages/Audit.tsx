import type { AuditEntryDto } from "@omni/contracts";
import { useSearchParams } from "@solidjs/router";
import { createSignal, For, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { Async, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { pretty, when } from "../lib/format.ts";

const FIELDS = ["actor", "action", "target", "from", "to"] as const;
type Field = (typeof FIELDS)[number];

function sentence(e: AuditEntryDto): string {
  const who =
    e.actorType === "api_key"
      ? `API key ${e.actor}`
      : e.actorType === "user"
        ? `User ${e.actor}`
        : "The system";
  const target = e.targetType ? ` ${e.targetType} ${e.targetId ?? ""}` : "";
  const outcome = typeof e.metadata.outcome === "string" ? ` (${e.metadata.outcome})` : "";
  return `${who}: ${e.action}${target}${outcome}`;
}

function Diff(props: { before: unknown; after: unknown }) {
  const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : {});
  const keys = () => [...new Set([...Object.keys(obj(props.before)), ...Object.keys(obj(props.after))])];
  const value = (side: unknown, key: string) => <pre tabindex="0">{pretty(obj(side)[key]) || "—"}</pre>;
  return (
    <Show when={keys().length} fallback={<p class="muted">No before/after values.</p>}>
      <DataTable
        caption="Before and after"
        class="diff"
        rows={keys()}
        key={(k) => k}
        columns={[
          { header: "Field", cell: (k) => k },
          { header: "Before", class: "before", cell: (k) => value(props.before, k) },
          { header: "After", class: "after", cell: (k) => value(props.after, k) },
        ]}
      />
    </Show>
  );
}

export default function Audit() {
  const [params, setParams] = useSearchParams<Record<Field, string>>();
  const [draft, setDraft] = createSignal<Record<Field, string>>({
    actor: params.actor ?? "",
    action: params.action ?? "",
    target: params.target ?? "",
    from: params.from ?? "",
    to: params.to ?? "",
  });
  const filters = () => ({
    actor: params.actor,
    action: params.action,
    target: params.target,
    from: params.from,
    to: params.to,
  });
  const entries = load((f) => {
    const query: Record<string, string> = {};
    for (const key of FIELDS) {
      const value = f[key];
      if (!value) continue;
      query[key] = key === "from" || key === "to" ? new Date(value).toISOString() : value;
    }
    return unwrap(api.audit.search.get({ query }));
  }, filters);
  const chain = load(() => unwrap(api.audit.verify.get()));
  const [open, setOpen] = createSignal<string | null>(null);

  const apply = (event: SubmitEvent) => {
    event.preventDefault();
    const next: Record<string, string | undefined> = {};
    for (const key of FIELDS) next[key] = draft()[key] || undefined;
    setParams(next);
  };

  return (
    <>
      <PageHeader title="Audit" subtitle="Every configuration change and tool call, hash-chained." />
      <section class="panel" aria-labelledby="chain">
        <h2 id="chain">Chain verification</h2>
        <Async value={chain.value()} error={chain.error()} retry={chain.reload} what="the chain status">
          {(c) => (
            <p data-testid="chain-status">
              <Show
                when={c.ok}
                fallback={
                  <>
                    <Badge tone="bad">broken</Badge> First broken link at sequence {c.firstBadSeq} ({c.reason}
                    ); {c.checked} rows verified before it.
                  </>
                }
              >
                <Badge tone="ok">intact</Badge> {c.checked} rows verified.
              </Show>
            </p>
          )}
        </Async>
      </section>
      <form class="panel" onSubmit={apply} aria-labelledby="filters">
        <h2 id="filters">Filters</h2>
        <div class="row">
          <For each={FIELDS}>
            {(key) => (
              <div>
                <label for={`f-${key}`}>
                  {key === "action"
                    ? "Action (e.g. prompt.update, or prompt.)"
                    : key === "target"
                      ? "Target (id or type:id)"
                      : key === "actor"
                        ? "Actor (user or key id)"
                        : key === "from"
                          ? "From"
                          : "To"}
                </label>
                <input
                  id={`f-${key}`}
                  type={key === "from" || key === "to" ? "datetime-local" : "text"}
                  value={draft()[key]}
                  onInput={(e) => setDraft({ ...draft(), [key]: e.currentTarget.value })}
                />
              </div>
            )}
          </For>
          <button type="submit" class="primary">
            Apply filters
          </button>
        </div>
      </form>
      <Async
        value={entries.value()}
        error={entries.error()}
        retry={entries.reload}
        what="audit entries"
        empty={(e) => e.entries.length === 0}
        emptyText="Nothing matches these filters."
      >
        {(result) => (
          <ol class="panel" style={{ "list-style": "none", padding: "0.5rem 1rem" }} data-testid="audit-list">
            <For each={result.entries}>
              {(e) => (
                <li style={{ "border-bottom": "1px solid var(--border)", padding: "0.5rem 0" }}>
                  <button
                    type="button"
                    class="link"
                    aria-expanded={open() === e.id}
                    onClick={() => setOpen(open() === e.id ? null : e.id)}
                  >
                    #{e.seq} {sentence(e)}
                  </button>{" "}
                  <span class="muted">{when(e.createdAt)}</span>
                  <Show when={open() === e.id}>
                    <Diff before={e.before} after={e.after} />
                    <details>
                      <summary>Metadata and hash</summary>
                      <pre tabindex="0">
                        {pretty({ metadata: e.metadata, hash: e.hash, prevHash: e.prevHash })}
                      </pre>
                    </details>
                  </Show>
                </li>
              )}
            </For>
          </ol>
        )}
      </Async>
    </>
  );
}
