import type { AdminPrompt, GetPromptResult, PromptArgument, PromptMessageTemplate } from "@omni/contracts";
import { createSignal, For, Index, Show } from "solid-js";
import { createStore, produce } from "solid-js/store";
import { ContentView } from "../components/ContentView.tsx";
import { CatalogActions, SourceBadges } from "../components/catalog.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { Checkbox, createNotice, Field, FormActions, Notice } from "../components/form.tsx";
import { Action, Badge, PageHeader } from "../components/ui.tsx";
import { api, errorMessage, unwrap } from "../lib/api.ts";
import { load } from "../lib/data.ts";
import { when } from "../lib/format.ts";

type Filter = "all" | "default" | "override" | "custom" | "disabled";
const FILTERS: Filter[] = ["all", "default", "override", "custom", "disabled"];

function matches(p: AdminPrompt, filter: Filter): boolean {
  if (filter === "all") return true;
  if (filter === "disabled") return p.disabled;
  if (filter === "custom") return p.source === "org";
  if (filter === "override") return p.source === "override";
  return p.source === "default" || p.source === "code";
}

interface Draft {
  /** null: a new prompt. */
  editing: AdminPrompt | null;
  name: string;
  title: string;
  description: string;
  arguments: { name: string; description: string; required: boolean; enum: string; default: string }[];
  messages: { role: "user" | "assistant"; text: string }[];
}

/** The argument editor's text fields: id part, field, label. */
const ARGUMENT_FIELDS = [
  ["name", "name", "Name"],
  ["desc", "description", "Description"],
  ["enum", "enum", "Allowed values (comma-separated)"],
  ["def", "default", "Default"],
] as const;

const blank = (): Draft => ({
  editing: null,
  name: "",
  title: "",
  description: "",
  arguments: [],
  messages: [{ role: "user", text: "" }],
});

function draftOf(p: AdminPrompt): Draft {
  return {
    editing: p,
    name: p.name,
    title: p.title ?? "",
    description: p.description ?? "",
    arguments: p.arguments.map((a) => ({
      name: a.name,
      description: a.description ?? "",
      required: a.required ?? false,
      enum: (a.enum ?? []).join(", "),
      default: a.default ?? "",
    })),
    messages: p.messages.map((m) => ({ role: m.role, text: m.text })),
  };
}

function argumentsOf(d: Draft): PromptArgument[] {
  return d.arguments
    .filter((a) => a.name.trim())
    .map((a) => {
      const values = a.enum
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      return {
        name: a.name.trim(),
        ...(a.description ? { description: a.description } : {}),
        ...(a.required ? { required: true } : {}),
        ...(values.length ? { enum: values } : {}),
        ...(a.default ? { default: a.default } : {}),
      };
    });
}

const messagesOf = (d: Draft): PromptMessageTemplate[] =>
  d.messages.map((m) => ({ role: m.role, text: m.text }));

export default function Prompts() {
  const prompts = load(() => unwrap(api.prompts.get()));
  const [filter, setFilter] = createSignal<Filter>("all");
  const [search, setSearch] = createSignal("");
  const [draft, setDraft] = createStore<{ open: boolean; d: Draft }>({ open: false, d: blank() });
  const notice = createNotice();
  const [values, setValues] = createStore<Record<string, string>>({});
  const [rendered, setRendered] = createSignal<GetPromptResult | null>(null);
  const [renderError, setRenderError] = createSignal<string | null>(null);

  const done = (error: unknown, text: string) => {
    const ok = notice.report(error, text);
    if (ok) prompts.reload();
    return ok;
  };

  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const d = draft.d;
    const body = {
      title: d.title || undefined,
      description: d.description || undefined,
      arguments: argumentsOf(d),
      messages: messagesOf(d),
    };
    const target = d.editing;
    const result = !target
      ? await api.prompts.post({ name: d.name.trim(), ...body })
      : target.source === "org" && target.id
        ? await api.prompts({ id: target.id }).patch({ name: d.name.trim(), ...body })
        : await api.prompts
            .defaults({ server: target.server ?? "" })({ name: target.name })
            .put(body);
    if (done(result.error, `Saved prompt "${d.name}".`)) setDraft("open", false);
  };

  const test = async () => {
    const d = draft.d;
    setRenderError(null);
    const args = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ""));
    const { data, error } = await api.prompts.preview.post({
      template: {
        name: d.name.trim() || "draft",
        ...(d.description ? { description: d.description } : {}),
        arguments: argumentsOf(d),
        messages: messagesOf(d),
      },
      arguments: args,
    });
    if (error) {
      setRendered(null);
      setRenderError(errorMessage(error));
    } else setRendered(data);
  };

  const toggle = async (p: AdminPrompt) => {
    const path = api.prompts.defaults({ server: p.server ?? "" })({ name: p.name });
    const result = p.disabled ? await path.enable.post() : await path.disable.post();
    done(result.error, `${p.disabled ? "Enabled" : "Disabled"} "${p.name}".`);
  };

  const remove = async (p: AdminPrompt) => {
    const result =
      p.source === "override"
        ? await api.prompts
            .defaults({ server: p.server ?? "" })({ name: p.name })
            .delete()
        : await api.prompts({ id: p.id ?? "" }).delete();
    done(
      result.error,
      p.source === "override" ? `Reverted "${p.name}" to the default.` : `Deleted "${p.name}".`,
    );
  };

  const open = (d: Draft) => {
    setDraft({ open: true, d });
    setRendered(null);
    setRenderError(null);
    for (const key of Object.keys(values)) setValues(key, "");
    for (const a of d.arguments) setValues(a.name, a.default);
  };

  return (
    <>
      <PageHeader
        title="Prompts"
        subtitle="Server defaults, your overrides and your own prompts: exactly what MCP clients get from prompts/list."
        actions={
          <Action need="admin:write" onClick={() => open(blank())}>
            New prompt
          </Action>
        }
      />
      {notice.view()}
      <Show when={draft.open}>
        <section class="panel" aria-labelledby="editor-title">
          <h2 id="editor-title">
            {draft.d.editing
              ? draft.d.editing.source === "org"
                ? `Edit "${draft.d.editing.name}"`
                : `Override "${draft.d.editing.name}" (${draft.d.editing.server})`
              : "New prompt"}
          </h2>
          <div class="two">
            <form onSubmit={(e) => void save(e)}>
              <Field
                id="p-name"
                label="Name"
                value={draft.d.name}
                disabled={Boolean(draft.d.editing && draft.d.editing.source !== "org")}
                required
                pattern="[A-Za-z0-9_.\-]{1,128}"
                onInput={(v) => setDraft("d", "name", v)}
              />
              <Field
                id="p-title"
                label="Title"
                value={draft.d.title}
                onInput={(v) => setDraft("d", "title", v)}
              />
              <Field
                id="p-desc"
                label="Description"
                value={draft.d.description}
                onInput={(v) => setDraft("d", "description", v)}
              />
              <fieldset>
                <legend>Arguments</legend>
                <Index each={draft.d.arguments}>
                  {(arg, i) => (
                    <div class="row">
                      <For each={ARGUMENT_FIELDS}>
                        {([id, field, label]) => (
                          <div>
                            <Field
                              id={`a-${id}-${i}`}
                              label={label}
                              value={arg()[field]}
                              onInput={(v) => setDraft("d", "arguments", i, field, v)}
                            />
                          </div>
                        )}
                      </For>
                      <Checkbox
                        checked={arg().required}
                        onChange={(v) => setDraft("d", "arguments", i, "required", v)}
                      >
                        Required
                      </Checkbox>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Remove argument ${arg().name || i + 1}`}
                        onClick={() => setDraft("d", "arguments", (list) => list.filter((_, j) => j !== i))}
                      >
                        Remove
                      </button>
                    </div>
                  )}
                </Index>
                <button
                  type="button"
                  onClick={() =>
                    setDraft(
                      "d",
                      "arguments",
                      produce((list) => {
                        list.push({ name: "", description: "", required: false, enum: "", default: "" });
                      }),
                    )
                  }
                >
                  Add argument
                </button>
              </fieldset>
              <fieldset>
                <legend>Messages</legend>
                <p class="muted">
                  Use <code>{"{{argument}}"}</code> to insert an argument's value.
                </p>
                <Index each={draft.d.messages}>
                  {(message, i) => (
                    <div>
                      <label for={`m-role-${i}`}>Message {i + 1} role</label>
                      <select
                        id={`m-role-${i}`}
                        value={message().role}
                        onChange={(e) =>
                          setDraft(
                            "d",
                            "messages",
                            i,
                            "role",
                            e.currentTarget.value === "assistant" ? "assistant" : "user",
                          )
                        }
                      >
                        <option value="user">user</option>
                        <option value="assistant">assistant</option>
                      </select>
                      <label for={`m-text-${i}`}>Message {i + 1} text</label>
                      <textarea
                        id={`m-text-${i}`}
                        value={message().text}
                        onInput={(e) => setDraft("d", "messages", i, "text", e.currentTarget.value)}
                        required
                      />
                      <Show when={draft.d.messages.length > 1}>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => setDraft("d", "messages", (list) => list.filter((_, j) => j !== i))}
                        >
                          Remove message {i + 1}
                        </button>
                      </Show>
                    </div>
                  )}
                </Index>
                <button
                  type="button"
                  onClick={() =>
                    setDraft(
                      "d",
                      "messages",
                      produce((list) => {
                        list.push({ role: "user", text: "" });
                      }),
                    )
                  }
                >
                  Add message
                </button>
              </fieldset>
              <FormActions need="admin:write" submit="Save prompt">
                <button type="button" onClick={() => setDraft("open", false)}>
                  Cancel
                </button>
              </FormActions>
            </form>
            <section aria-labelledby="test-title">
              <h3 id="test-title">Test panel</h3>
              <p class="muted">
                Renders the prompt above (saved or not) exactly as a client's prompts/get gets it.
              </p>
              <For each={argumentsOf(draft.d)}>
                {(arg) => (
                  <div>
                    <label for={`v-${arg.name}`}>
                      {arg.name}
                      {arg.required ? " (required)" : ""}
                    </label>
                    <Show
                      when={arg.enum?.length}
                      fallback={
                        <input
                          id={`v-${arg.name}`}
                          value={values[arg.name] ?? ""}
                          placeholder={arg.default ?? ""}
                          onInput={(e) => setValues(arg.name, e.currentTarget.value)}
                        />
                      }
                    >
                      <select
                        id={`v-${arg.name}`}
                        value={values[arg.name] ?? ""}
                        onChange={(e) => setValues(arg.name, e.currentTarget.value)}
                      >
                        <option value="">(none)</option>
                        <For each={arg.enum}>{(value) => <option value={value}>{value}</option>}</For>
                      </select>
                    </Show>
                  </div>
                )}
              </For>
              <div class="form-actions">
                <button type="button" class="primary" onClick={() => void test()}>
                  Render
                </button>
              </div>
              <Notice text={renderError()} tone="bad" />
              <Show when={rendered()}>
                {(result) => (
                  <div data-testid="rendered" aria-live="polite">
                    <For each={result().messages}>
                      {(m) => (
                        <div class="message">
                          <Badge tone="info">{m.role}</Badge>
                          <ContentView block={m.content} />
                        </div>
                      )}
                    </For>
                  </div>
                )}
              </Show>
            </section>
          </div>
        </section>
      </Show>
      <fieldset class="chips">
        <legend class="sr-only">Filter prompts</legend>
        <For each={FILTERS}>
          {(f) => (
            <button type="button" aria-pressed={filter() === f} onClick={() => setFilter(f)}>
              {f}
            </button>
          )}
        </For>
        <label class="sr-only" for="p-search">
          Search prompts
        </label>
        <input
          id="p-search"
          type="search"
          placeholder="Search prompts"
          value={search()}
          onInput={(e) => setSearch(e.currentTarget.value)}
          style={{ "max-width": "16rem" }}
        />
      </fieldset>
      <DataTable
        caption="Prompts"
        what="prompts"
        of={prompts.select((v) => v.prompts)}
        filter={(p) => matches(p, filter()) && p.name.toLowerCase().includes(search().toLowerCase())}
        noMatch="No prompt matches this filter."
        key={(p) => `${p.source} ${p.server ?? ""} ${p.name}`}
        columns={[
          {
            header: "Name",
            cell: (p) => (
              <>
                <strong>{p.name}</strong>
                <div class="muted">{p.title ?? p.description ?? ""}</div>
              </>
            ),
          },
          { header: "Server", cell: (p) => p.server ?? "—" },
          { header: "Source", cell: (p) => <SourceBadges item={p} showHidden /> },
          { header: "Arguments", cell: (p) => p.arguments.map((a) => a.name).join(", ") || "—" },
          { header: "Updated", cell: (p) => when(p.updatedAt) },
        ]}
        actions={(p) => (
          <CatalogActions
            item={p}
            name={p.name}
            onEdit={() => open(draftOf(p))}
            onToggle={() => void toggle(p)}
            onRemove={() => void remove(p)}
          />
        )}
      />
    </>
  );
}
