import { type JSX, Match, type ParentProps, Show, Switch } from "solid-js";
import { whyNot } from "../lib/auth.ts";

/** Loading / error / empty / ready: every page shows one of these for each piece of data. */
export function Loading(props: { what: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {props.what}…
    </p>
  );
}

export function ErrorBox(props: { error: unknown; retry?: () => void }) {
  const message = () => (props.error instanceof Error ? props.error.message : String(props.error));
  return (
    <div class="state error" role="alert">
      <strong>Something went wrong.</strong> {message()}
      <Show when={props.retry}>
        {" "}
        <button type="button" class="link" onClick={() => props.retry?.()}>
          Try again
        </button>
      </Show>
    </div>
  );
}

export function Empty(props: ParentProps<{ title: string }>) {
  return (
    <div class="state empty">
      <strong>{props.title}</strong>
      <div>{props.children}</div>
    </div>
  );
}

/**
 * A button for an action that needs a permission: disabled with the reason (shown beside it and as its
 * accessible description) when the caller lacks it.
 */
export function Action(
  props: ParentProps<{
    need: string;
    onClick?: () => void;
    type?: "button" | "submit";
    class?: string;
    label?: string;
    disabled?: boolean;
  }>,
) {
  const reason = () => whyNot(props.need);
  const id = `why-${Math.random().toString(36).slice(2, 9)}`;
  return (
    <span class="action">
      <button
        type={props.type ?? "button"}
        class={props.class ?? "primary"}
        disabled={Boolean(reason()) || props.disabled}
        aria-describedby={reason() ? id : undefined}
        aria-label={props.label}
        onClick={() => props.onClick?.()}
      >
        {props.children}
      </button>
      <Show when={reason()}>
        <span id={id} class="why">
          {reason()}
        </span>
      </Show>
    </span>
  );
}

export function Badge(props: ParentProps<{ tone?: "ok" | "warn" | "bad" | "info" | "muted" }>) {
  return <span class={`badge ${props.tone ?? "muted"}`}>{props.children}</span>;
}

export function PageHeader(props: ParentProps<{ title: string; subtitle?: string; actions?: JSX.Element }>) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        <Show when={props.subtitle}>
          <p class="subtitle">{props.subtitle}</p>
        </Show>
      </div>
      <Show when={props.actions}>
        <div class="page-actions">{props.actions}</div>
      </Show>
      {props.children}
    </header>
  );
}

/** A resource (from `createAsync`) in its loading / error / empty / ready state. */
export function Async<T>(props: {
  value: T | undefined;
  error: unknown;
  what: string;
  empty?: (value: T) => boolean;
  emptyText?: JSX.Element;
  retry?: () => void;
  children: (value: T) => JSX.Element;
}) {
  return (
    <Switch>
      <Match when={props.error}>
        <ErrorBox error={props.error} retry={props.retry} />
      </Match>
      <Match when={props.value === undefined}>
        <Loading what={props.what} />
      </Match>
      <Match when={props.value !== undefined && props.empty?.(props.value as T)}>
        <Empty title={`No ${props.what} yet`}>{props.emptyText}</Empty>
      </Match>
      <Match when={props.value !== undefined}>{props.children(props.value as T)}</Match>
    </Switch>
  );
}
