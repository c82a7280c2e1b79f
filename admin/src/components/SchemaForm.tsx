import { For, Index, Match, Show, Switch } from "solid-js";

/** The JSON Schema subset MCP tools use for inputs (what the form can render). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null") ?? "string";
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  if (schema.items) return "array";
  const first = schema.anyOf?.find((s) => s.type !== "null");
  return first ? typeOf(first) : "string";
}

/** The starting value of a schema: its default, else an object of its properties' defaults. */
export function initialValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  const type = typeOf(schema);
  if (type === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      const value = initialValue(child);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (type === "array" && schema.required) return [];
  return undefined;
}

/** Drops empty strings and empty optional objects, so optional fields left blank are not sent. */
export function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const pruned = prune(v);
      if (pruned !== undefined && pruned !== "") out[k] = pruned;
    }
    return out;
  }
  return value;
}

/**
 * A form generated from a JSON Schema: strings, numbers, booleans, enums (select), nested objects
 * (fieldsets) and arrays (add/remove items), with defaults filled in and required fields marked.
 */
export function SchemaField(props: {
  schema: JsonSchema;
  name: string;
  id: string;
  value: unknown;
  required?: boolean;
  onChange: (value: unknown) => void;
}) {
  const type = () => typeOf(props.schema);
  const label = () => `${props.schema.title ?? props.name}${props.required ? " (required)" : ""}`;
  const hint = () => props.schema.description;
  return (
    <Switch
      fallback={
        <div>
          <label for={props.id}>{label()}</label>
          <input
            id={props.id}
            value={typeof props.value === "string" ? props.value : (props.value ?? "").toString()}
            required={props.required}
            aria-describedby={hint() ? `${props.id}-hint` : undefined}
            onInput={(e) => props.onChange(e.currentTarget.value)}
          />
          <Show when={hint()}>
            <div id={`${props.id}-hint`} class="muted">
              {hint()}
            </div>
          </Show>
        </div>
      }
    >
      <Match when={props.schema.enum}>
        {(values) => (
          <div>
            <label for={props.id}>{label()}</label>
            <select
              id={props.id}
              required={props.required}
              onChange={(e) => {
                const index = Number(e.currentTarget.value);
                props.onChange(index < 0 ? undefined : values()[index]);
              }}
            >
              <option value="-1" selected={props.value === undefined}>
                (none)
              </option>
              <For each={values()}>
                {(v, i) => (
                  <option value={i()} selected={props.value === v}>
                    {String(v)}
                  </option>
                )}
              </For>
            </select>
            <Show when={hint()}>
              <div class="muted">{hint()}</div>
            </Show>
          </div>
        )}
      </Match>
      <Match when={type() === "boolean"}>
        <div>
          <label class="inline">
            <input
              type="checkbox"
              id={props.id}
              checked={props.value === true}
              onChange={(e) => props.onChange(e.currentTarget.checked)}
            />
            {label()}
          </label>
          <Show when={hint()}>
            <div class="muted">{hint()}</div>
          </Show>
        </div>
      </Match>
      <Match when={type() === "number" || type() === "integer"}>
        <div>
          <label for={props.id}>{label()}</label>
          <input
            id={props.id}
            type="number"
            step={type() === "integer" ? 1 : "any"}
            min={props.schema.minimum}
            max={props.schema.maximum}
            required={props.required}
            value={typeof props.value === "number" ? props.value : ""}
            onInput={(e) =>
              props.onChange(e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value))
            }
          />
          <Show when={hint()}>
            <div class="muted">{hint()}</div>
          </Show>
        </div>
      </Match>
      <Match when={type() === "object"}>
        <fieldset>
          <legend>{label()}</legend>
          <Show when={hint()}>
            <p class="muted">{hint()}</p>
          </Show>
          <For each={Object.entries(props.schema.properties ?? {})}>
            {([key, child]) => {
              const record = () =>
                props.value && typeof props.value === "object"
                  ? (props.value as Record<string, unknown>)
                  : {};
              return (
                <SchemaField
                  schema={child}
                  name={key}
                  id={`${props.id}-${key}`}
                  value={record()[key]}
                  required={props.schema.required?.includes(key)}
                  onChange={(v) => props.onChange({ ...record(), [key]: v })}
                />
              );
            }}
          </For>
        </fieldset>
      </Match>
      <Match when={type() === "array"}>
        <fieldset>
          <legend>{label()}</legend>
          <Show when={hint()}>
            <p class="muted">{hint()}</p>
          </Show>
          {(() => {
            const list = () => (Array.isArray(props.value) ? props.value : []);
            const item = props.schema.items ?? { type: "string" };
            return (
              <>
                <Index each={list()}>
                  {(value, i) => (
                    <div class="row">
                      <SchemaField
                        schema={item}
                        name={`${props.name} item ${i + 1}`}
                        id={`${props.id}-${i}`}
                        value={value()}
                        onChange={(v) => props.onChange(list().map((old, j) => (j === i ? v : old)))}
                      />
                      <button
                        type="button"
                        class="danger"
                        onClick={() => props.onChange(list().filter((_, j) => j !== i))}
                      >
                        Remove item {i + 1}
                      </button>
                    </div>
                  )}
                </Index>
                <button type="button" onClick={() => props.onChange([...list(), initialValue(item)])}>
                  Add {props.name} item
                </button>
              </>
            );
          })()}
        </fieldset>
      </Match>
    </Switch>
  );
}
