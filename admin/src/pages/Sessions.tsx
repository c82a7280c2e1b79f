import { createSignal, For } from "solid-js";
import { Action, Async, Badge, Notice, PageHeader } from "../components/ui.tsx";
import { api, errorMessage, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { ago, when } from "../lib/format.ts";

export default function Sessions() {
  const sessions = load(() => unwrap(api.sessions.get()));
  const contexts = load(() => unwrap(api["browser-contexts"].get()));
  const [notice, setNotice] = createSignal<{ text: string; tone: "ok" | "bad" } | null>(null);

  const end = async (id: string) => {
    const { error } = await api.sessions({ id }).delete();
    setNotice(error ? { text: errorMessage(error), tone: "bad" } : { text: "Session ended.", tone: "ok" });
    sessions.reload();
  };

  const endContext = async (id: string) => {
    const { error } = await api["browser-contexts"]({ id }).delete();
    setNotice(
      error ? { text: errorMessage(error), tone: "bad" } : { text: "Browser context closed.", tone: "ok" },
    );
    contexts.reload();
  };

  return (
    <>
      <PageHeader
        title="Sessions"
        subtitle="Live MCP sessions of your organization on this gateway replica (2025-era clients; 2026-07-28 clients are stateless)."
        actions={
          <button
            type="button"
            onClick={() => {
              sessions.reload();
              contexts.reload();
            }}
          >
            Refresh
          </button>
        }
      />
      <Notice text={notice()?.text ?? null} tone={notice()?.tone} />
      <Async
        value={sessions.value()}
        error={sessions.error()}
        retry={sessions.reload}
        what="sessions"
        empty={(s) => s.sessions.length === 0}
        emptyText="No MCP client is connected right now."
      >
        {(s) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">Credential</th>
                  <th scope="col">Age</th>
                  <th scope="col">Last call</th>
                  <th scope="col">State</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={s.sessions}>
                  {(session) => (
                    <tr data-testid={`session-${session.id}`}>
                      <td>
                        <strong>{session.clientName ?? "unknown client"}</strong>{" "}
                        {session.clientVersion ?? ""}
                        <div class="muted">
                          <code>{session.id.slice(0, 8)}</code>
                        </div>
                      </td>
                      <td>{session.protocolVersion}</td>
                      <td>
                        {session.credential.type} <code>{session.credential.id ?? ""}</code>
                      </td>
                      <td>{ago(session.createdAt).replace(" ago", "")}</td>
                      <td>{ago(session.lastSeenAt)}</td>
                      <td>
                        <Badge tone={session.streaming ? "ok" : "muted"}>
                          {session.streaming ? "streaming" : "idle"}
                        </Badge>{" "}
                        {session.inflight ? <Badge tone="info">{session.inflight} in flight</Badge> : null}
                      </td>
                      <td>
                        <Action
                          need="admin:write"
                          class="danger"
                          label={`End session of ${session.clientName ?? session.id}`}
                          onClick={() => void end(session.id)}
                        >
                          End
                        </Action>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Async>
      <h2>Browser contexts</h2>
      <p class="muted">DevTools browser contexts held for your organization's clients (one per client).</p>
      <Async
        value={contexts.value()}
        error={contexts.error()}
        retry={contexts.reload}
        what="browser contexts"
        empty={(c) => c.contexts.length === 0}
        emptyText="No DevTools browser context is open."
      >
        {(c) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Context</th>
                  <th scope="col">Client</th>
                  <th scope="col">Tabs</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={c.contexts}>
                  {(ctx) => (
                    <tr>
                      <td>
                        <code>{ctx.id.slice(0, 12)}</code>
                        <div class="muted">{ctx.server}</div>
                      </td>
                      <td>
                        {ctx.client}
                        {ctx.credentialId ? <div class="muted">{ctx.credentialId}</div> : null}
                      </td>
                      <td>
                        {ctx.tabs} {ctx.busy ? <Badge tone="info">busy</Badge> : null}
                      </td>
                      <td>{ago(ctx.lastUsedAt)}</td>
                      <td>{when(ctx.expiresAt)}</td>
                      <td>
                        <Action
                          need="admin:write"
                          class="danger"
                          label={`Close browser context ${ctx.id.slice(0, 12)}`}
                          onClick={() => void endContext(ctx.id)}
                        >
                          Close
                        </Action>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </>
  );
}
