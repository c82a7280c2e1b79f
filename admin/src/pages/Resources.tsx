import type { AdminResource } from "@omni/contracts";
import { createSignal, Match, Show, Switch } from "solid-js";
import { createStore } from "solid-js/store";
import { CatalogActions, SourceBadges } from "../components/catalog.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { createNotice, Field, FormActions } from "../components/form.tsx";
import { Action, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { pretty, when } from "../lib/format.ts";

function Preview(props: { resource: AdminResource }) {
  const mime = () => props.resource.mimeType ?? "text/plain";
  const json = () => {
    try {
      return pretty(JSON.parse(props.resource.text ?? ""));
    } catch {
      return props.resource.text ?? "";
    }
  };
  return (
    <Switch fallback={<pre tabindex="0">{props.resource.text ?? ""}</pre>}>
      <Match when={props.resource.blob && mime().startsWith("image/")}>
        <img
          alt={`Preview of ${props.resource.name}`}
          src={`data:${mime()};base64,${props.resource.blob}`}
          style={{ "max-width": "100%" }}
        />
      </Match>
      <Match when={props.resource.blob}>
        <p class="muted">
          Binary ({props.resource.size} bytes, {mime()}).
        </p>
      </Match>
      <Match when={mime().includes("json")}>
        <pre tabindex="0">{json()}</pre>
      </Match>
    </Switch>
  );
}

interface Draft {
  editing: AdminResource | null;
  uri: string;
  name: string;
  mimeType: string;
  description: string;
  text: string;
}
const blank = (): Draft => ({
  editing: null,
  uri: "",
  name: "",
  mimeType: "text/markdown",
  description: "",
  text: "",
});

export default function Resources() {
  const resources = load(() => unwrap(api.resources.get()));
  const [draft, setDraft] = createStore<{ open: boolean; d: Draft }>({ open: false, d: blank() });
  const [preview, setPreview] = createSignal<AdminResource | null>(null);
  const notice = createNotice();
  const report = (error: unknown, ok: string) => {
    const done = notice.report(error, ok);
    if (done) resources.reload();
    return done;
  };

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const d = draft.d;
    const fields = {
      name: d.name,
      mimeType: d.mimeType || undefined,
      description: d.description || undefined,
      text: d.text,
    };
    const target = d.editing;
    const result = !target
      ? await api.resources.post({ uri: d.uri, ...fields })
      : target.source === "org" || target.source === "override"
        ? await api.resources({ id: target.id ?? "" }).patch(fields)
        : await api.resources.override.put({ uri: target.uri, ...fields });
    if (report(result.error, `Saved ${d.uri || target?.uri}.`)) setDraft("open", false);
  };

  const edit = (r: AdminResource) =>
    setDraft({
      open: true,
      d: {
        editing: r,
        uri: r.uri,
        name: r.name,
        mimeType: r.mimeType ?? "",
        description: r.description ?? "",
        text: r.text ?? "",
      },
    });

  return (
    <>
      <PageHeader
        title="Resources"
        subtitle="Static resources MCP clients read: server defaults, your overrides and your own."
        actions={
          <Action need="admin:write" onClick={() => setDraft({ open: true, d: blank() })}>
            New resource
          </Action>
        }
      />
      {notice.view()}
      <Show when={draft.open}>
        <form class="panel" onSubmit={(e) => void save(e)} aria-labelledby="r-editor">
          <h2 id="r-editor">{draft.d.editing ? `Edit ${draft.d.editing.uri}` : "New resource"}</h2>
          <Field
            id="r-uri"
            label="URI"
            value={draft.d.uri}
            required
            disabled={Boolean(draft.d.editing)}
            placeholder="docs://handbook"
            onInput={(v) => setDraft("d", "uri", v)}
          />
          <Field
            id="r-name"
            label="Name"
            value={draft.d.name}
            required
            onInput={(v) => setDraft("d", "name", v)}
          />
          <Field
            id="r-mime"
            label="MIME type"
            value={draft.d.mimeType}
            onInput={(v) => setDraft("d", "mimeType", v)}
          />
          <Field
            id="r-desc"
            label="Description"
            value={draft.d.description}
            onInput={(v) => setDraft("d", "description", v)}
          />
          <label for="r-text">Text</label>
          <textarea
            id="r-text"
            value={draft.d.text}
            onInput={(e) => setDraft("d", "text", e.currentTarget.value)}
          />
          <FormActions need="admin:write" submit="Save resource">
            <button type="button" onClick={() => setDraft("open", false)}>
              Cancel
            </button>
          </FormActions>
        </form>
      </Show>
      <DataTable
        caption="Resources"
        what="resources"
        of={resources.select((v) => v.resources)}
        key={(r) => `${r.source} ${r.uri}`}
        columns={[
          {
            header: "Resource",
            cell: (r) => (
              <>
                <strong>{r.name}</strong>
                <div>
                  <code>{r.uri}</code>
                </div>
              </>
            ),
          },
          { header: "Source", cell: (r) => <SourceBadges item={r} /> },
          { header: "Type", cell: (r) => `${r.mimeType ?? "—"} · ${r.size} B` },
          { header: "Updated", cell: (r) => when(r.updatedAt) },
        ]}
        actions={(r) => (
          <>
            <button
              type="button"
              aria-label={`Preview ${r.uri}`}
              onClick={() => setPreview(preview()?.uri === r.uri ? null : r)}
            >
              Preview
            </button>
            <CatalogActions
              item={r}
              name={r.uri}
              onEdit={() => edit(r)}
              onToggle={async () => {
                const path = r.disabled ? api.resources.enable : api.resources.disable;
                report(
                  (await path.post({ uri: r.uri })).error,
                  `${r.disabled ? "Enabled" : "Disabled"} ${r.uri}.`,
                );
              }}
              onRemove={async () =>
                report((await api.resources({ id: r.id ?? "" }).delete()).error, `Removed ${r.uri}.`)
              }
            />
          </>
        )}
      />
      <Show when={preview()}>
        {(r) => (
          <section class="panel" aria-labelledby="r-preview">
            <h2 id="r-preview">Preview of {r().uri}</h2>
            <Preview resource={r()} />
          </section>
        )}
      </Show>
    </>
  );
}
