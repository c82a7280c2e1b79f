import { createSignal, type JSX, type ParentProps, Show, splitProps } from "solid-js";
import { errorMessage } from "../lib/api.ts";
import { Action } from "./ui.tsx";

/** Notes after an action ("Saved", or the error), announced to screen readers. */
export function Notice(props: { text: string | null | undefined; tone?: "ok" | "bad" }) {
  return (
    <Show when={props.text}>
      <p class={`notice ${props.tone ?? "ok"}`} role={props.tone === "bad" ? "alert" : "status"}>
        {props.text}
      </p>
    </Show>
  );
}

/**
 * A page's note after its actions: `report(error, ok)` shows the error's message or, when there is none,
 * `ok` (no `ok`: the note goes), and says whether it succeeded; `view()` is the notice on the page.
 */
export function createNotice() {
  const [note, setNote] = createSignal<{ text: string; tone: "ok" | "bad" } | null>(null);
  return {
    view: () => <Notice text={note()?.text} tone={note()?.tone} />,
    report: (error: unknown, ok?: string): boolean => {
      setNote(error ? { text: errorMessage(error), tone: "bad" } : ok ? { text: ok, tone: "ok" } : null);
      return !error;
    },
  };
}

/** A text input and its label, bound to a value; other props go to the input. */
export function Field(
  props: Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "value" | "onInput"> & {
    id: string;
    label: JSX.Element;
    value: string;
    onInput: (value: string) => void;
  },
) {
  const [own, input] = splitProps(props, ["label", "value", "onInput"]);
  return (
    <>
      <label for={input.id}>{own.label}</label>
      <input {...input} value={own.value} onInput={(e) => own.onInput(e.currentTarget.value)} />
    </>
  );
}

/** A checkbox inside its label (the children); other props go to the input. */
export function Checkbox(
  props: ParentProps<
    Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "type" | "checked" | "onChange"> & {
      checked: boolean;
      onChange: (checked: boolean) => void;
    }
  >,
) {
  const [own, input] = splitProps(props, ["children", "checked", "onChange"]);
  return (
    <label class="inline">
      <input
        {...input}
        type="checkbox"
        checked={own.checked}
        onChange={(e) => own.onChange(e.currentTarget.checked)}
      />
      {own.children}
    </label>
  );
}

/** A form's buttons: its submit button (`submit`, which needs the permission `need`), then the children. */
export function FormActions(props: ParentProps<{ need: string; submit: string; disabled?: boolean }>) {
  return (
    <div class="form-actions">
      <Action need={props.need} type="submit" disabled={props.disabled}>
        {props.submit}
      </Action>
      {props.children}
    </div>
  );
}
