import { PERMISSIONS, type Permission } from "@omni/contracts";
import { createSignal, For, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { Checkbox, createNotice, Field, FormActions } from "../components/form.tsx";
import { Action, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { can } from "../lib/auth.ts";
import { load } from "../lib/data.ts";
import { ago, when } from "../lib/format.ts";

export default function Keys() {
  const keys = load(() => unwrap(api.keys.get()));
  const [name, setName] = createSignal("");
  const [scopes, setScopes] = createSignal<Permission[]>(["tools:call", "prompts:read", "resources:read"]);
  const [expires, setExpires] = createSignal("");
  const [secret, setSecret] = createSignal<string | null>(null);
  const [copied, setCopied] = createSignal(false);
  const notice = createNotice();

  const create = async (event: SubmitEvent) => {
    event.preventDefault();
    setCopied(false);
    const { data, error } = await api.keys.post({
      name: name(),
      scopes: scopes(),
      ...(expires() ? { expiresAt: new Date(`${expires()}T23:59:59Z`).toISOString() } : {}),
    });
    notice.report(error);
    if (error) return;
    setSecret(data.secret);
    setName("");
    keys.reload();
  };

  const revoke = async (id: string, label: string) => {
    const { error } = await api.keys({ id }).delete();
    notice.report(error, `Revoked ${label}.`);
    keys.reload();
  };

  const copy = async () => {
    const value = secret();
    if (!value) return;
    await navigator.clipboard?.writeText(value).catch(() => {});
    setCopied(true);
  };

  return (
    <>
      <PageHeader
        title="API keys"
        subtitle="Organization keys for MCP clients and automation. A key's secret is shown once."
      />
      {notice.view()}
      <Show when={secret()}>
        <section class="panel" aria-labelledby="new-secret">
          <h2 id="new-secret">Your new key</h2>
          <p>Copy it now: it is not stored and will not be shown again.</p>
          <div class="secret">
            <code data-testid="new-key">{secret()}</code>
            <button type="button" class="primary" onClick={() => void copy()}>
              {copied() ? "Copied" : "Copy"}
            </button>
            <button type="button" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </section>
      </Show>
      <form class="panel" onSubmit={(e) => void create(e)} aria-labelledby="create-key">
        <h2 id="create-key">Create a key</h2>
        <Field id="k-name" label="Name" value={name()} required maxLength={100} onInput={setName} />
        <fieldset>
          <legend>Scopes</legend>
          <For each={PERMISSIONS}>
            {(p) => (
              <Checkbox
                checked={scopes().includes(p)}
                disabled={!can(p)}
                title={can(p) ? undefined : "A key cannot have a scope you do not hold"}
                onChange={(on) => setScopes(on ? [...scopes(), p] : scopes().filter((s) => s !== p))}
              >
                {p}
              </Checkbox>
            )}
          </For>
        </fieldset>
        <Field id="k-exp" label="Expires (optional)" type="date" value={expires()} onInput={setExpires} />
        <FormActions need="keys:write" submit="Create key" disabled={!scopes().length} />
      </form>
      <DataTable
        caption="API keys"
        what="API keys"
        of={keys}
        key={(k) => k.prefix}
        testId="key"
        columns={[
          {
            header: "Key",
            sort: (k) => k.name,
            cell: (k) => (
              <>
                <strong>{k.name}</strong>
                <div>
                  <code>{k.prefix}…</code>
                </div>
              </>
            ),
          },
          { header: "Scopes", cell: (k) => k.scopes.join(", ") },
          { header: "Created", sort: (k) => k.createdAt, cell: (k) => when(k.createdAt) },
          { header: "Expires", cell: (k) => (k.expiresAt ? when(k.expiresAt) : "never") },
          { header: "Last used", sort: (k) => k.lastUsedAt ?? "", cell: (k) => ago(k.lastUsedAt) },
        ]}
        actions={(k) => (
          <Show when={!k.revokedAt} fallback={<Badge tone="bad">revoked {when(k.revokedAt)}</Badge>}>
            <Action
              need="keys:write"
              class="danger"
              label={`Revoke ${k.name}`}
              onClick={() => void revoke(k.id, k.name)}
            >
              Revoke
            </Action>
          </Show>
        )}
      />
    </>
  );
}
