import { createEffect, createSignal } from "solid-js";
import { Action, Async, Notice, PageHeader } from "../components/ui.tsx";
import { api, errorMessage, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";

export default function Settings() {
  const settings = load(() => unwrap(api.settings.get()));
  const [name, setName] = createSignal("");
  const [auditArgs, setAuditArgs] = createSignal(false);
  const [notice, setNotice] = createSignal<{ text: string; tone: "ok" | "bad" } | null>(null);
  createEffect(() => {
    const s = settings.value();
    if (s) {
      setName(s.name);
      setAuditArgs(s.auditArguments);
    }
  });

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const { error } = await api.settings.patch({ name: name(), auditArguments: auditArgs() });
    setNotice(error ? { text: errorMessage(error), tone: "bad" } : { text: "Settings saved.", tone: "ok" });
    settings.reload();
  };

  return (
    <>
      <PageHeader title="Organization settings" />
      <Notice text={notice()?.text ?? null} tone={notice()?.tone} />
      <Async value={settings.value()} error={settings.error()} retry={settings.reload} what="settings">
        {(s) => (
          <form class="panel" onSubmit={(e) => void save(e)}>
            <label for="o-name">Name</label>
            <input id="o-name" value={name()} required onInput={(e) => setName(e.currentTarget.value)} />
            <p class="muted">
              Slug: <code>{s.slug}</code>
            </p>
            <label class="inline">
              <input
                type="checkbox"
                checked={auditArgs()}
                onChange={(e) => setAuditArgs(e.currentTarget.checked)}
              />
              Record tool-call arguments in the audit log (redacted; may contain personal data)
            </label>
            <div class="form-actions">
              <Action need="org:settings" type="submit">
                Save settings
              </Action>
            </div>
          </form>
        )}
      </Async>
    </>
  );
}
