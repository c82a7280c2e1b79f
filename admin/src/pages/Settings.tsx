import { createEffect, createSignal } from "solid-js";
import { Checkbox, createNotice, Field, FormActions } from "../components/form.tsx";
import { Async, PageHeader } from "../components/ui.tsx";
import { api, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";

export default function Settings() {
  const settings = load(() => unwrap(api.settings.get()));
  const [name, setName] = createSignal("");
  const [auditArgs, setAuditArgs] = createSignal(false);
  const notice = createNotice();
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
    notice.report(error, "Settings saved.");
    settings.reload();
  };

  return (
    <>
      <PageHeader title="Organization settings" />
      {notice.view()}
      <Async value={settings.value()} error={settings.error()} retry={settings.reload} what="settings">
        {(s) => (
          <form class="panel" onSubmit={(e) => void save(e)}>
            <Field id="o-name" label="Name" value={name()} required onInput={setName} />
            <p class="muted">
              Slug: <code>{s.slug}</code>
            </p>
            <Checkbox checked={auditArgs()} onChange={setAuditArgs}>
              Record tool-call arguments in the audit log (redacted; may contain personal data)
            </Checkbox>
            <FormActions need="org:settings" submit="Save settings" />
          </form>
        )}
      </Async>
    </>
  );
}
