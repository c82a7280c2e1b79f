import { PERMISSIONS, type Permission } from "@omni/contracts";
import { createSignal, For, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { Action, Badge, Notice, PageHeader } from "../components/ui.tsx";
import { api, errorMessage, unwrap } from "../lib/api.ts";
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
  const [notice, setNotice] = createSignal<{ text: string; tone: "ok" | "bad" } | null>(null);

  const create = async (event: SubmitEvent) => {
    event.preventDefault();
    setCopied(false);
    const { data, error } = await api.keys.post({
      name: name(),
      scopes: scopes(),
      ...(expires() ? { expiresAt: new Date(`${expires()}T23:59:59Z`).toISOString() } : {}),
    });
    if (error) return setNotice({ text: errorMessage(error), tone: "bad" });
    setSecret(data.secret);
    setNotice(null);
    setName("");
    keys.reload();
  };

  const revoke = async (id: string, label: string) => {
    const { error } = await api.keys({ id }).delete();
    setNotice(error ? { text: errorMessage(error), tone: "bad" } : { text: `Revoked ${label}.`, tone: "ok" });
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
      <Notice text={notice()?.text ?? null} tone={notice()?.tone} />
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
        <label for="k-name">Name</label>
        <input
          id="k-name"
          value={name()}
          required
          maxLength={100}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <fieldset>
          <legend>Scopes</legend>
          <For each={PERMISSIONS}>
            {(p) => (
              <label class="inline">
                <input
                  type="checkbox"
                  checked={scopes().includes(p)}
                  disabled={!can(p)}
                  title={can(p) ? undefined : "A key cannot have a scope you do not hold"}
                  onChange={(e) =>
                    setScopes(e.currentTarget.checked ? [...scopes(), p] : scopes().filter((s) => s !== p))
                  }
                />
                {p}
              </label>
            )}
          </For>
        </fieldset>
        <label for="k-exp">Expires (optional)</label>
        <input id="k-exp" type="date" value={expires()} onInput={(e) => setExpires(e.currentTarget.value)} />
        <div class="form-actions">
          <Action need="keys:write" type="submit" disabled={!scopes().length}>
            Create key
          </Action>
        </div>
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
