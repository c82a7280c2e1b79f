import { DataTable } from "../components/DataTable.tsx";
import { createNotice } from "../components/form.tsx";
import { Action, Badge, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { ago, when } from "../lib/format.ts";

export default function Sessions() {
  const sessions = load(() => unwrap(api.sessions.get()));
  const contexts = load(() => unwrap(api["browser-contexts"].get()));
  const notice = createNotice();

  const end = async (id: string) => {
    const { error } = await api.sessions({ id }).delete();
    notice.report(error, "Session ended.");
    sessions.reload();
  };

  const endContext = async (id: string) => {
    const { error } = await api["browser-contexts"]({ id }).delete();
    notice.report(error, "Browser context closed.");
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
      {notice.view()}
      <DataTable
        caption="MCP sessions"
        what="sessions"
        of={sessions.select((v) => v.sessions)}
        empty="No MCP client is connected right now."
        key={(session) => session.id}
        testId="session"
        columns={[
          {
            header: "Client",
            cell: (session) => (
              <>
                <strong>{session.clientName ?? "unknown client"}</strong> {session.clientVersion ?? ""}
                <div class="muted">
                  <code>{session.id.slice(0, 8)}</code>
                </div>
              </>
            ),
          },
          { header: "Protocol", cell: (session) => session.protocolVersion },
          {
            header: "Credential",
            cell: (session) => (
              <>
                {session.credential.type} <code>{session.credential.id ?? ""}</code>
              </>
            ),
          },
          { header: "Age", cell: (session) => ago(session.createdAt).replace(" ago", "") },
          { header: "Last call", cell: (session) => ago(session.lastSeenAt) },
          {
            header: "State",
            cell: (session) => (
              <>
                <Badge tone={session.streaming ? "ok" : "muted"}>
                  {session.streaming ? "streaming" : "idle"}
                </Badge>{" "}
                {session.inflight ? <Badge tone="info">{session.inflight} in flight</Badge> : null}
              </>
            ),
          },
        ]}
        actions={(session) => (
          <Action
            need="admin:write"
            class="danger"
            label={`End session of ${session.clientName ?? session.id}`}
            onClick={() => void end(session.id)}
          >
            End
          </Action>
        )}
      />
      <h2>Browser contexts</h2>
      <p class="muted">DevTools browser contexts held for your organization's clients (one per client).</p>
      <DataTable
        caption="Browser contexts"
        what="browser contexts"
        of={contexts.select((v) => v.contexts)}
        empty="No DevTools browser context is open."
        key={(ctx) => ctx.id}
        columns={[
          {
            header: "Context",
            cell: (ctx) => (
              <>
                <code>{ctx.id.slice(0, 12)}</code>
                <div class="muted">{ctx.server}</div>
              </>
            ),
          },
          {
            header: "Client",
            cell: (ctx) => (
              <>
                {ctx.client}
                {ctx.credentialId ? <div class="muted">{ctx.credentialId}</div> : null}
              </>
            ),
          },
          {
            header: "Tabs",
            cell: (ctx) => (
              <>
                {ctx.tabs} {ctx.busy ? <Badge tone="info">busy</Badge> : null}
              </>
            ),
          },
          { header: "Last used", cell: (ctx) => ago(ctx.lastUsedAt) },
          { header: "Expires", cell: (ctx) => when(ctx.expiresAt) },
        ]}
        actions={(ctx) => (
          <Action
            need="admin:write"
            class="danger"
            label={`Close browser context ${ctx.id.slice(0, 12)}`}
            onClick={() => void endContext(ctx.id)}
          >
            Close
          </Action>
        )}
      />
    </>
  );
}
