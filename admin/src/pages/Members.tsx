import { For } from "solid-js";
import { DataTable } from "../components/DataTable.tsx";
import { createNotice } from "../components/form.tsx";
import { Action, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { can, whyNot } from "../lib/auth.ts";
import { load } from "../lib/data.ts";
import { when } from "../lib/format.ts";

const ROLES = ["owner", "admin", "member"] as const;

export default function Members() {
  const members = load(() => unwrap(api.members.get()));
  const notice = createNotice();
  const report = (error: unknown, ok: string) => {
    notice.report(error, ok);
    members.reload();
  };

  return (
    <>
      <PageHeader
        title="Members and roles"
        subtitle="Who belongs to your organization. Owners change roles."
      />
      {notice.view()}
      <DataTable
        caption="Members"
        what="members"
        of={members}
        key={(m) => m.id}
        columns={[
          {
            header: "Member",
            sort: (m) => m.name ?? m.email,
            cell: (m) => (
              <>
                <strong>{m.name ?? m.email}</strong>
                <div class="muted">{m.email}</div>
              </>
            ),
          },
          {
            header: "Role",
            cell: (m) => (
              <select
                aria-label={`Role of ${m.email}`}
                value={m.role}
                disabled={!can("members:write")}
                title={whyNot("members:write")}
                onChange={async (e) => {
                  const role = ROLES.find((r) => r === e.currentTarget.value) ?? m.role;
                  const { error } = await api.members({ id: m.id }).patch({ role });
                  report(error, `${m.email} is now ${role}.`);
                }}
              >
                <For each={ROLES}>{(r) => <option value={r}>{r}</option>}</For>
              </select>
            ),
          },
          { header: "Since", sort: (m) => m.createdAt, cell: (m) => when(m.createdAt) },
        ]}
        actions={(m) => (
          <Action
            need="members:write"
            class="danger"
            label={`Remove ${m.email}`}
            onClick={async () => {
              const { error } = await api.members({ id: m.id }).delete();
              report(error, `Removed ${m.email}.`);
            }}
          >
            Remove
          </Action>
        )}
      />
    </>
  );
}
