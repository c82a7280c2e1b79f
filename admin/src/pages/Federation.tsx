import type { FederatedServerStatus } from "@omni/contracts";
import { createSignal, Show } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { createNotice, Field, FormActions } from "../components/form.tsx";
import { Action, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { ago } from "../lib/format.ts";

const STATE_TONE = {
  healthy: "ok",
  connecting: "info",
  idle: "muted",
  down: "bad",
  closed: "muted",
} as const satisfies Record<FederatedServerStatus["state"], "ok" | "info" | "muted" | "bad">;

/**
 * Federated upstream MCP servers: this org's own remote ones (registered here) and the operator's global
 * ones (read-only here: `omni servers add`), with each connection's health and what it brings.
 */
export default function Federation() {
  const servers = load(() => unwrap(api.federation.servers.get()));
  const [name, setName] = createSignal("");
  const [prefix, setPrefix] = createSignal("");
  const [transport, setTransport] = createSignal<"streamable-http" | "sse">("streamable-http");
  const [url, setUrl] = createSignal("");
  const [authHeader, setAuthHeader] = createSignal("");
  const [authSecret, setAuthSecret] = createSignal("");
  const notice = createNotice();

  const register = async (event: SubmitEvent) => {
    event.preventDefault();
    const secret = authSecret();
    const { error } = await api.federation.servers.post({
      name: name(),
      prefix: prefix(),
      transport: transport(),
      url: url(),
      ...(secret ? { authHeader: authHeader() || "Authorization", authSecret: secret } : {}),
    });
    if (!notice.report(error, `Registered ${name()}: its tools appear as ${prefix()}_<tool>.`)) return;
    setName("");
    setPrefix("");
    setUrl("");
    setAuthSecret("");
    servers.reload();
  };

  const remove = async (server: FederatedServerStatus) => {
    const { error } = await api.federation.servers({ id: server.id }).delete();
    notice.report(error, `Removed ${server.name}.`);
    servers.reload();
  };

  return (
    <>
      <PageHeader
        title="Federated servers"
        subtitle="Third-party MCP servers behind the gateway: their tools, prompts and resources join this organization's catalogue under a prefix."
      />
      {notice.view()}
      <form class="panel" onSubmit={(e) => void register(e)} aria-labelledby="register-upstream">
        <h2 id="register-upstream">Register a remote server</h2>
        <p>
          Public addresses only; local commands and servers for every organization are the operator's (
          <code>omni servers add</code>).
        </p>
        <Field id="f-name" label="Name" value={name()} required maxLength={200} onInput={setName} />
        <Field
          id="f-prefix"
          label="Prefix"
          value={prefix()}
          required
          pattern="[a-z][a-z0-9\-]{0,31}"
          aria-describedby="f-prefix-hint"
          onInput={setPrefix}
        />
        <small id="f-prefix-hint">
          1–32 of a–z, 0–9 and '-', starting with a letter: tools become prefix_tool.
        </small>
        <label for="f-transport">Transport</label>
        <select
          id="f-transport"
          value={transport()}
          onChange={(e) => setTransport(e.currentTarget.value === "sse" ? "sse" : "streamable-http")}
        >
          <option value="streamable-http">Streamable HTTP</option>
          <option value="sse">HTTP+SSE (legacy)</option>
        </select>
        <Field
          id="f-url"
          label="URL"
          type="url"
          value={url()}
          required
          placeholder="https://mcp.example.com/mcp"
          onInput={setUrl}
        />
        <Field
          id="f-header"
          label="Auth header (optional)"
          value={authHeader()}
          placeholder="Authorization"
          onInput={setAuthHeader}
        />
        <Field
          id="f-secret"
          label="Auth header value (optional; stored encrypted, never shown again)"
          type="password"
          autocomplete="off"
          value={authSecret()}
          onInput={setAuthSecret}
        />
        <FormActions need="admin:write" submit="Register server" />
      </form>
      <DataTable
        caption="Federated servers"
        what="federated servers"
        of={servers.select((v) => v.servers)}
        empty="Register one above, or ask the operator to add one for every organization."
        key={(server) => server.prefix}
        testId="upstream"
        columns={[
          {
            header: "Server",
            cell: (server) => (
              <>
                <strong>{server.name}</strong> <code>{server.prefix}_*</code>
                <div>
                  <Show when={server.url} fallback={<em>local command (operator)</em>}>
                    <code>{server.url}</code>
                  </Show>
                </div>
              </>
            ),
          },
          {
            header: "Transport",
            cell: (server) => (
              <>
                {server.transport}
                <Show when={server.hasAuthSecret}>
                  {" "}
                  <Badge tone="info">auth</Badge>
                </Show>
              </>
            ),
          },
          {
            header: "State",
            cell: (server) => (
              <>
                <Badge tone={STATE_TONE[server.state]}>{server.state}</Badge>
                <Show when={server.lastError}>
                  <div class="muted">{server.lastError}</div>
                </Show>
                <Show when={server.lastConnectedAt}>
                  <div class="muted">connected {ago(server.lastConnectedAt)}</div>
                </Show>
              </>
            ),
          },
          {
            header: "Brings",
            cell: (server) =>
              `${server.tools} tools, ${server.prompts} prompts, ${server.resources} resources`,
          },
        ]}
        actions={(server) => (
          <Show
            when={server.scope === "organization"}
            fallback={<Badge tone="muted">global (operator)</Badge>}
          >
            <Action
              need="admin:write"
              class="danger"
              label={`Remove ${server.name}`}
              onClick={() => void remove(server)}
            >
              Remove
            </Action>
          </Show>
        )}
      />
    </>
  );
}
