import type { PolicyScope, ToolPolicy, ToolPolicyBody } from "@omni/contracts";
import { createEffect, createSignal, For, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { Checkbox, createNotice, Field, FormActions } from "../components/form.tsx";
import { Action, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";

const SCOPES: PolicyScope[] = ["org", "member", "admin", "owner"];
const SCOPE_LABEL: Record<PolicyScope, string> = {
  org: "Whole organization",
  member: "Members",
  admin: "Admins",
  owner: "Owners",
};

/** One line per entry; blank lines dropped. */
const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

interface Row {
  listed: boolean;
  name: string;
  description: string;
}

/**
 * Tool policy (which tools each role sees, renames, descriptions) and bundles (virtual servers at
 * /mcp/b/<slug>). Policies name tools by their catalogue name; the table shows every enabled tool and
 * which roles see it now.
 */
export default function Policy() {
  const listing = load(() => unwrap(api["tool-policies"].get()));
  const bundles = load(() => unwrap(api.bundles.get()));
  const [scope, setScope] = createSignal<PolicyScope>("org");
  const [mode, setMode] = createSignal<"allow" | "deny">("deny");
  const [rows, setRows] = createSignal<Record<string, Row>>({});
  const notice = createNotice();

  const verb = () => (mode() === "allow" ? "Allow" : "Deny");
  const current = (): ToolPolicy | undefined => listing.value()?.policies.find((p) => p.scope === scope());
  // The editor shows the chosen scope's stored policy (or an empty deny-list) over every catalogue tool.
  createEffect(() => {
    const data = listing.value();
    if (!data) return;
    const policy = data.policies.find((p) => p.scope === scope());
    setMode(policy?.mode ?? "deny");
    const next: Record<string, Row> = {};
    for (const t of data.tools) {
      const o = policy?.overrides.find((x) => x.tool === t.tool);
      next[t.tool] = {
        listed: policy?.tools.includes(t.tool) ?? false,
        name: o?.name ?? "",
        description: o?.description ?? "",
      };
    }
    setRows(next);
  });
  const edit = (tool: string, patch: Partial<Row>) =>
    setRows({
      ...rows(),
      [tool]: { ...(rows()[tool] ?? { listed: false, name: "", description: "" }), ...patch },
    });

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const entries = Object.entries(rows());
    // Patterns the table does not show (e.g. `linear_*`, or tools of a disabled server) are kept.
    const shown = new Set(entries.map(([tool]) => tool));
    const kept = (current()?.tools ?? []).filter((t) => !shown.has(t));
    const keptOverrides = (current()?.overrides ?? []).filter((o) => !shown.has(o.tool));
    const body: ToolPolicyBody = {
      mode: mode(),
      tools: [...kept, ...entries.filter(([, r]) => r.listed).map(([tool]) => tool)],
      overrides: [
        ...keptOverrides,
        ...entries
          .filter(([, r]) => r.name.trim() || r.description.trim())
          .map(([tool, r]) => ({
            tool,
            ...(r.name.trim() ? { name: r.name.trim() } : {}),
            ...(r.description.trim() ? { description: r.description.trim() } : {}),
          })),
      ],
    };
    const { error } = await api["tool-policies"]({ scope: scope() }).put(body);
    notice.report(error, `${SCOPE_LABEL[scope()]}: policy saved.`);
    listing.reload();
  };

  const clear = async () => {
    const { error } = await api["tool-policies"]({ scope: scope() }).delete();
    notice.report(error, `${SCOPE_LABEL[scope()]}: policy removed.`);
    listing.reload();
  };

  const [slug, setSlug] = createSignal("");
  const [bundleTools, setBundleTools] = createSignal("");
  const [discovery, setDiscovery] = createSignal(false);
  const createBundle = async (event: SubmitEvent) => {
    event.preventDefault();
    const tools = lines(bundleTools());
    const { error } = await api.bundles.post({
      slug: slug().trim(),
      tools: tools.length ? tools : null,
      discovery: discovery(),
    });
    if (notice.report(error, `Bundle ${slug()} created.`)) {
      setSlug("");
      setBundleTools("");
      setDiscovery(false);
    }
    bundles.reload();
  };
  const removeBundle = async (name: string) => {
    const { error } = await api.bundles({ slug: name }).delete();
    notice.report(error, `Bundle ${name} deleted.`);
    bundles.reload();
  };

  return (
    <>
      <PageHeader
        title="Tool policy"
        subtitle="Which tools each role sees, under which name, and bundles that serve a team only what it needs."
      />
      {notice.view()}
      <form class="panel" onSubmit={(e) => void save(e)} aria-labelledby="policy-title">
        <h2 id="policy-title">Policy</h2>
        <label for="p-scope">Applies to</label>
        <select id="p-scope" value={scope()} onChange={(e) => setScope(e.currentTarget.value as PolicyScope)}>
          <For each={SCOPES}>{(s) => <option value={s}>{SCOPE_LABEL[s]}</option>}</For>
        </select>
        <fieldset>
          <legend>Checked tools are</legend>
          <label class="inline">
            <input
              type="radio"
              name="p-mode"
              checked={mode() === "allow"}
              onChange={() => setMode("allow")}
            />
            the only ones shown (allow-list)
          </label>
          <label class="inline">
            <input type="radio" name="p-mode" checked={mode() === "deny"} onChange={() => setMode("deny")} />
            hidden (deny-list)
          </label>
        </fieldset>
        <Show when={listing.value()?.conflicts.length}>
          <p class="notice bad" role="alert">
            <For each={listing.value()?.conflicts}>
              {(c) => (
                <span>
                  {c.tool} → {c.name}: {c.reason}.{" "}
                </span>
              )}
            </For>
          </p>
        </Show>
        <DataTable
          caption="Tools and who sees them"
          what="tools"
          of={listing.select((v) => v.tools)}
          empty="Enable a server on the Servers page: its tools appear here."
          key={(t) => t.tool}
          testId="policy"
          columns={[
            {
              get header() {
                return verb();
              },
              cell: (t) => (
                <input
                  type="checkbox"
                  aria-label={`${verb()} ${t.tool}`}
                  checked={rows()[t.tool]?.listed ?? false}
                  onChange={(e) => edit(t.tool, { listed: e.currentTarget.checked })}
                />
              ),
            },
            {
              header: "Tool",
              cell: (t) => (
                <>
                  <code>{t.tool}</code>
                  <div class="muted">{t.server}</div>
                </>
              ),
            },
            {
              header: "Visible to",
              cell: (t) => (
                <Show when={t.visibleTo.length > 0} fallback={<Badge tone="bad">nobody</Badge>}>
                  <For each={t.visibleTo}>{(r) => <Badge tone="ok">{r}</Badge>}</For>
                </Show>
              ),
            },
            {
              header: "Rename to",
              cell: (t) => (
                <input
                  aria-label={`New name for ${t.tool}`}
                  value={rows()[t.tool]?.name ?? ""}
                  maxLength={128}
                  placeholder={t.tool}
                  onInput={(e) => edit(t.tool, { name: e.currentTarget.value })}
                />
              ),
            },
            {
              header: "Description shown",
              cell: (t) => (
                <input
                  aria-label={`Description for ${t.tool}`}
                  value={rows()[t.tool]?.description ?? ""}
                  maxLength={4000}
                  placeholder={t.description.slice(0, 80)}
                  onInput={(e) => edit(t.tool, { description: e.currentTarget.value })}
                />
              ),
            },
          ]}
        />
        <FormActions need="admin:write" submit="Save policy">
          <Show when={current()}>
            <Action need="admin:write" class="danger" onClick={() => void clear()}>
              Remove this policy
            </Action>
          </Show>
        </FormActions>
      </form>

      <section class="panel" aria-labelledby="bundles-title">
        <h2 id="bundles-title">Bundles</h2>
        <p class="muted">
          A bundle is served at <code>/mcp/b/&lt;slug&gt;</code> with only its tools (the policy still
          applies). Discovery lists <code>search_tools</code> and <code>call_tool</code> instead of every
          schema.
        </p>
        <DataTable
          caption="Bundles"
          what="bundles"
          of={bundles.select((v) => v.bundles)}
          empty="Create one below."
          key={(b) => b.slug}
          testId="bundle"
          columns={[
            {
              header: "Bundle",
              cell: (b) => (
                <>
                  <strong>{b.slug}</strong>{" "}
                  <Show when={b.discovery}>
                    <Badge tone="info">discovery</Badge>
                  </Show>
                </>
              ),
            },
            { header: "Endpoint", cell: (b) => <code>{`${location.origin}${b.path}`}</code> },
            { header: "Tools", cell: (b) => b.tools?.join(", ") ?? "every allowed tool" },
          ]}
          actions={(b) => (
            <Action
              need="admin:write"
              class="danger"
              label={`Delete bundle ${b.slug}`}
              onClick={() => void removeBundle(b.slug)}
            >
              Delete
            </Action>
          )}
        />
        <form onSubmit={(e) => void createBundle(e)} aria-label="Create a bundle">
          <Field
            id="b-slug"
            label="Slug"
            value={slug()}
            required
            pattern="[a-z0-9][a-z0-9\-]{0,62}"
            title="lowercase letters, digits and -"
            onInput={setSlug}
          />
          <label for="b-tools">Tools (one name or pattern per line; empty: every allowed tool)</label>
          <textarea
            id="b-tools"
            rows={3}
            value={bundleTools()}
            onInput={(e) => setBundleTools(e.currentTarget.value)}
          />
          <Checkbox checked={discovery()} onChange={setDiscovery}>
            Progressive discovery (search_tools + call_tool)
          </Checkbox>
          <FormActions need="admin:write" submit="Create bundle" />
        </form>
      </section>
    </>
  );
}
