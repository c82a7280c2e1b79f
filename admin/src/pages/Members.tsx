import { createSignal, For } from "solid-js";
import { Action, Async, Notice, PageHeader } from "../components/ui.tsx";
import { api, errorMessage, unwrap } from "../lib/api.ts";
import { can, whyNot } from "../lib/auth.ts";
import { load } from "../lib/data.ts";
import { when } from "../lib/format.ts";

const ROLES = ["owner", "admin", "member"] as const;

export default function Members() {
  const members = load(() => unwrap(api.members.get()));
  const [notice, setNotice] = createSignal<{ text: string; tone: "ok" | "bad" } | null>(null);
  const report = (error: unknown, ok: string) => {
    setNotice(error ? { text: errorMessage(error), tone: "bad" } : { text: ok, tone: "ok" });
    members.reload();
  };

  return (
    <>
      <PageHeader
        title="Members and roles"
        subtitle="Who belongs to your organization. Owners change roles."
      />
      <Notice text={notice()?.text ?? null} tone={notice()?.tone} />
      <Async
        value={members.value()}
        error={members.error()}
        retry={members.reload}
        what="members"
        empty={(m) => m.length === 0}
      >
        {(list) => (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Role</th>
                  <th scope="col">Since</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={list}>
                  {(m) => (
                    <tr>
                      <td>
                        <strong>{m.name ?? m.email}</strong>
                        <div class="muted">{m.email}</div>
                      </td>
                      <td>
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
                      </td>
                      <td>{when(m.createdAt)}</td>
                      <td>
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
