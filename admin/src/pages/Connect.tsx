import { oauthConnectUrl, protectedResourceMetadataUrl } from "@omni/contracts";
import { createSignal, For, Show } from "solid-js";
import { Field } from "../components/form.tsx";
import { PageHeader } from "../components/ui.tsx";
import { errorMessage } from "../lib/api.ts";
import { me } from "../lib/auth.ts";
import { load } from "../lib/data.ts";
import { ms } from "../lib/format.ts";
import { testConnection } from "../lib/mcp.ts";

const KEY = "<YOUR_OMNI_API_KEY>";
/** `${NAME}`: a placeholder the client itself expands (an env variable, a VS Code input). */
const expand = (name: string) => `\${${name}}`;

/** Ready-to-paste configuration for each client, for this gateway's URL. */
function clients(url: string) {
  return [
    {
      name: "Claude Desktop",
      file: "claude_desktop_config.json (Settings → Developer → Edit config)",
      text: JSON.stringify(
        {
          mcpServers: {
            omni: {
              command: "npx",
              args: ["-y", "mcp-remote", url, "--header", `Authorization: Bearer ${expand("OMNI_API_KEY")}`],
              env: { OMNI_API_KEY: KEY },
            },
          },
        },
        null,
        2,
      ),
    },
    {
      name: "Claude Code",
      file: "a terminal",
      text: `claude mcp add --transport http omni ${url} --header "Authorization: Bearer ${KEY}"`,
    },
    {
      name: "Cursor",
      file: "~/.cursor/mcp.json",
      text: JSON.stringify(
        { mcpServers: { omni: { url, headers: { Authorization: `Bearer ${KEY}` } } } },
        null,
        2,
      ),
    },
    {
      name: "VS Code",
      file: ".vscode/mcp.json (asks for the key once)",
      text: JSON.stringify(
        {
          servers: {
            omni: { type: "http", url, headers: { Authorization: `Bearer ${expand("input:omni-key")}` } },
          },
          inputs: [{ type: "promptString", id: "omni-key", description: "Omni MCP API key", password: true }],
        },
        null,
        2,
      ),
    },
    {
      name: "Windsurf",
      file: "~/.codeium/windsurf/mcp_config.json",
      text: JSON.stringify(
        { mcpServers: { omni: { serverUrl: url, headers: { Authorization: `Bearer ${KEY}` } } } },
        null,
        2,
      ),
    },
    {
      name: "Codex",
      file: "~/.codex/config.toml (export OMNI_API_KEY first)",
      text: `[mcp_servers.omni]\nurl = "${url}"\nbearer_token_env_var = "OMNI_API_KEY"`,
    },
    {
      name: "Zed",
      file: "settings.json",
      text: JSON.stringify(
        { context_servers: { omni: { url, headers: { Authorization: `Bearer ${KEY}` } } } },
        null,
        2,
      ),
    },
    {
      name: "Goose",
      file: "~/.config/goose/config.yaml",
      text: `extensions:\n  omni:\n    type: streamable_http\n    name: omni\n    uri: ${url}\n    headers:\n      Authorization: Bearer ${KEY}\n    enabled: true\n    timeout: 300`,
    },
  ];
}

export default function Connect() {
  const url = `${location.origin}/mcp`;
  const [key, setKey] = createSignal("");
  const [result, setResult] = createSignal<{ text: string; ok: boolean } | null>(null);
  const [busy, setBusy] = createSignal(false);
  // OAuth: the protected-resource metadata of this org's MCP endpoint (public discovery JSON, not an admin
  // API route, hence a plain same-origin GET) names an authorization server when one is configured.
  const oauth = load(async () => {
    const response = await fetch(protectedResourceMetadataUrl(location.origin, me()?.org.slug));
    return response.ok ? oauthConnectUrl(await response.json()) : null;
  });
  const [copied, setCopied] = createSignal<string | null>(null);

  const test = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const r = await testConnection(key().trim() || undefined);
      setResult({ ok: true, text: `Connected to ${r.server}: ${r.tools} tools, in ${ms(r.ms)}.` });
    } catch (error) {
      setResult({ ok: false, text: `Could not connect: ${errorMessage(error)}` });
    }
    setBusy(false);
  };

  return (
    <>
      <PageHeader
        title="Connect a client"
        subtitle={`Point any MCP client at ${url}. Create a key on the API keys page and paste it where the config says ${KEY}.`}
      />
      <Show
        when={oauth.value()}
        fallback={
          <p class="muted">
            No OAuth authorization server is configured for this gateway: clients authenticate with an API
            key.
          </p>
        }
      >
        {(oauthUrl) => (
          <section class="panel" aria-labelledby="oauth">
            <h2 id="oauth">Sign in with OAuth (no key)</h2>
            <p>
              Clients that support MCP OAuth (Claude "Add custom connector", Claude Code, VS Code, Cursor)
              only need this URL; they sign you in through your identity provider:
            </p>
            <pre tabindex="0">{oauthUrl()}</pre>
            <pre tabindex="0">{`claude mcp add --transport http omni ${oauthUrl()}`}</pre>
          </section>
        )}
      </Show>
      <form class="panel" onSubmit={(e) => void test(e)} aria-labelledby="test-conn">
        <h2 id="test-conn">Test connection</h2>
        <p class="muted">
          Runs initialize and tools/list against {url}, with the key below or, if empty, as you.
        </p>
        <Field
          id="c-key"
          label="API key to test (optional)"
          type="password"
          autocomplete="off"
          value={key()}
          onInput={setKey}
        />
        <div class="form-actions">
          <button type="submit" class="primary" disabled={busy()}>
            {busy() ? "Testing…" : "Test connection"}
          </button>
        </div>
        <Show when={result()}>
          {(r) => (
            <p
              class={`notice ${r().ok ? "ok" : "bad"}`}
              role={r().ok ? "status" : "alert"}
              data-testid="connect-result"
            >
              {r().text}
            </p>
          )}
        </Show>
      </form>
      <div class="grid">
        <For each={clients(url)}>
          {(c) => (
            <section class="panel" aria-labelledby={`c-${c.name}`}>
              <h2 id={`c-${c.name}`}>{c.name}</h2>
              <p class="muted">In {c.file}:</p>
              <pre tabindex="0">{c.text}</pre>
              <button
                type="button"
                onClick={async () => {
                  await navigator.clipboard?.writeText(c.text).catch(() => {});
                  setCopied(c.name);
                }}
              >
                {copied() === c.name ? "Copied" : `Copy ${c.name} config`}
              </button>
            </section>
          )}
        </For>
      </div>
    </>
  );
}
