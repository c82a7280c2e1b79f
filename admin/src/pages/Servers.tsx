import type { AdminService } from "@omni/contracts";
import { createSignal, For, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { Checkbox, createNotice, Field, FormActions, Notice } from "../components/form.tsx";
import { Action, Async, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { when } from "../lib/format.ts";

const tone = { healthy: "ok", degraded: "warn", down: "bad", unconfigured: "muted" } as const;
const lines = (value: unknown) =>
  Array.isArray(value) ? value.filter((v) => typeof v === "string").join("\n") : "";
const toList = (text: string) =>
  text
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);

export default function Servers() {
  const servers = load(async () => {
    const [status, services] = await Promise.all([unwrap(api.servers.get()), unwrap(api.services.get())]);
    return status.servers.map((s) => ({ ...s, service: services.services.find((x) => x.name === s.name) }));
  });
  const notice = createNotice();
  const report = (result: { error: unknown }, ok: string) => {
    if (notice.report(result.error, ok)) servers.reload();
  };

  const toggle = async (name: string, enabled: boolean) =>
    report(
      await api.services({ server: name }).patch({ enabled }),
      `${enabled ? "Enabled" : "Disabled"} ${name}.`,
    );

  return (
    <>
      <PageHeader
        title="Servers"
        subtitle="Enable servers for your organization, set their settings and secrets. Secrets are write-only."
        actions={
          <button type="button" onClick={() => servers.reload()}>
            Refresh
          </button>
        }
      />
      {notice.view()}
      <Async
        value={servers.value()}
        error={servers.error()}
        retry={servers.reload}
        what="servers"
        empty={(s) => s.length === 0}
      >
        {(list) => (
          <For each={list}>
            {(server) => (
              <section
                class="panel"
                aria-labelledby={`srv-${server.name}`}
                data-testid={`server-${server.name}`}
              >
                <div class="page-header">
                  <div>
                    <h2 id={`srv-${server.name}`}>
                      {server.title} <code>{server.name}</code>
                    </h2>
                    <p class="subtitle">{server.description}</p>
                  </div>
                  <div class="page-actions">
                    <Badge tone={tone[server.health]}>{server.health}</Badge>
                    <Badge tone={server.enabled ? "ok" : "muted"}>
                      {server.enabled ? "enabled" : "disabled"}
                    </Badge>
                    <Action
                      need="admin:write"
                      class={server.enabled ? "danger" : "primary"}
                      label={`${server.enabled ? "Disable" : "Enable"} ${server.name}`}
                      onClick={() => void toggle(server.name, !server.enabled)}
                    >
                      {server.enabled ? "Disable" : "Enable"}
                    </Action>
                  </div>
                </div>
                <p class="muted">
                  {server.tools} tools · {server.prompts} code prompts
                </p>
                <DataTable
                  caption={`Instances of ${server.name}`}
                  rows={server.instances}
                  key={(i) => i.url}
                  noMatch="No instance is configured (SERVERS)."
                  columns={[
                    { header: "Instance", cell: (i) => <code>{i.url}</code> },
                    {
                      header: "Health",
                      cell: (i) => (
                        <>
                          <Badge tone={i.healthy ? "ok" : "bad"}>{i.healthy ? "healthy" : "unhealthy"}</Badge>
                          <Show when={i.lastError}>
                            <div class="muted">{i.lastError}</div>
                          </Show>
                        </>
                      ),
                    },
                    { header: "In flight", cell: (i) => i.outstanding },
                    { header: "Version", cell: (i) => i.version ?? "—" },
                    { header: "Last check", cell: (i) => when(i.lastCheckedAt) },
                  ]}
                />
                <Show when={server.service}>
                  {(service) => <ServiceConfig service={service()} onDone={report} />}
                </Show>
              </section>
            )}
          </For>
        )}
      </Async>
    </>
  );
}

function ServiceConfig(props: {
  service: AdminService;
  onDone: (r: { error: unknown }, ok: string) => void;
}) {
  const s = () => props.service;
  const [settingsText, setSettingsText] = createSignal(JSON.stringify(s().settings, null, 2));
  const [settingsError, setSettingsError] = createSignal<string | null>(null);
  const [allow, setAllow] = createSignal(lines(s().settings.allowUrls));
  const [deny, setDeny] = createSignal(lines(s().settings.denyUrls));
  const [privateNet, setPrivateNet] = createSignal(s().settings.allowPrivateNetwork === true);
  const [secretName, setSecretName] = createSignal("");
  const [secretValue, setSecretValue] = createSignal("");
  const [credName, setCredName] = createSignal("");
  const [credValue, setCredValue] = createSignal("");

  const saveSettings = async (event: SubmitEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(settingsText());
    } catch {
      return setSettingsError('Settings must be a JSON object, e.g. {"teamId": "ENG"}.');
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      return setSettingsError("Settings must be a JSON object.");
    setSettingsError(null);
    const next = parsed as Record<string, unknown>;
    // A merge patch: keys removed from the editor are sent as null.
    const patch: Record<string, unknown> = { ...next };
    for (const key of Object.keys(s().settings)) if (!(key in next)) patch[key] = null;
    props.onDone(
      await api.services({ server: s().name }).patch({ settings: patch }),
      `Saved ${s().name} settings.`,
    );
  };

  const savePolicy = async (event: SubmitEvent) => {
    event.preventDefault();
    const allowUrls = toList(allow());
    const denyUrls = toList(deny());
    props.onDone(
      await api.services({ server: s().name }).patch({
        settings: {
          allowUrls: allowUrls.length ? allowUrls : null,
          denyUrls: denyUrls.length ? denyUrls : null,
          allowPrivateNetwork: privateNet() ? true : null,
        },
      }),
      "Saved the URL policy.",
    );
  };

  const setSecret = async (event: SubmitEvent, own: boolean) => {
    event.preventDefault();
    const name = (own ? credName() : secretName()).trim();
    const value = own ? credValue() : secretValue();
    const path = own
      ? api.services({ server: s().name }).credentials({ name })
      : api.services({ server: s().name }).secrets({ name });
    props.onDone(await path.put({ value }), `${own ? "Your credential" : "Secret"} ${name} is set.`);
    if (own) setCredValue("");
    else setSecretValue("");
  };

  return (
    <div class="two">
      <div>
        <Show
          when={s().name === "devtools"}
          fallback={
            <form onSubmit={(e) => void saveSettings(e)}>
              <h3>Settings</h3>
              <label for={`set-${s().name}`}>Settings (JSON object)</label>
              <textarea
                id={`set-${s().name}`}
                value={settingsText()}
                onInput={(e) => setSettingsText(e.currentTarget.value)}
                aria-invalid={Boolean(settingsError())}
              />
              <Notice text={settingsError()} tone="bad" />
              <FormActions need="admin:write" submit="Save settings" />
            </form>
          }
        >
          <form onSubmit={(e) => void savePolicy(e)}>
            <h3>URL policy</h3>
            <p class="muted">
              Glob patterns, one per line. Private networks and loopback are denied unless allowed.
            </p>
            <label for="allow-urls">Allowed URLs</label>
            <textarea id="allow-urls" value={allow()} onInput={(e) => setAllow(e.currentTarget.value)} />
            <label for="deny-urls">Denied URLs</label>
            <textarea id="deny-urls" value={deny()} onInput={(e) => setDeny(e.currentTarget.value)} />
            <Checkbox checked={privateNet()} onChange={setPrivateNet}>
              Allow private networks (RFC 1918, loopback)
            </Checkbox>
            <FormActions need="admin:write" submit="Save URL policy" />
          </form>
        </Show>
      </div>
      <div>
        <h3>Organization secrets</h3>
        <ul>
          <For each={Object.entries(s().secrets)} fallback={<li class="muted">No secret is set.</li>}>
            {([name, state]) => (
              <li>
                <code>{name}</code> set {when(state.updatedAt)}{" "}
                <Action
                  need="admin:write"
                  class="danger"
                  label={`Delete secret ${name}`}
                  onClick={async () =>
                    props.onDone(
                      await api.services({ server: s().name }).secrets({ name }).delete(),
                      `Deleted ${name}.`,
                    )
                  }
                >
                  Delete
                </Action>
              </li>
            )}
          </For>
        </ul>
        <form class="row" onSubmit={(e) => void setSecret(e, false)}>
          <div>
            <Field
              id={`sn-${s().name}`}
              label="Secret name"
              value={secretName()}
              placeholder="apiKey"
              required
              onInput={setSecretName}
            />
          </div>
          <div>
            <Field
              id={`sv-${s().name}`}
              label="Value (never shown again)"
              type="password"
              autocomplete="off"
              value={secretValue()}
              required
              onInput={setSecretValue}
            />
          </div>
          <Action need="admin:write" type="submit">
            Set or replace
          </Action>
        </form>
        <h3>Your own credentials</h3>
        <p class="muted">Used for your calls instead of the organization's secret.</p>
        <ul>
          <For each={Object.entries(s().myCredentials)} fallback={<li class="muted">You have set none.</li>}>
            {([name, state]) => (
              <li>
                <code>{name}</code> set {when(state.updatedAt)}
              </li>
            )}
          </For>
        </ul>
        <form class="row" onSubmit={(e) => void setSecret(e, true)}>
          <div>
            <Field
              id={`cn-${s().name}`}
              label="Credential name"
              value={credName()}
              placeholder="apiKey"
              required
              onInput={setCredName}
            />
          </div>
          <div>
            <Field
              id={`cv-${s().name}`}
              label="Value"
              type="password"
              autocomplete="off"
              value={credValue()}
              required
              onInput={setCredValue}
            />
          </div>
          <button type="submit">Set mine</button>
        </form>
      </div>
    </div>
  );
}
