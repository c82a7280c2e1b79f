import { createComputed, createMemo, createSignal, For, type JSX, Match, Show, Switch } from "solid-js";
import { createStore, reconcile } from "solid-js/store";
import { Empty, ErrorBox, Loading } from "./ui.tsx";

/** One column: its header, what a row's cell shows and, optionally, the value the rows sort by. */
export interface Column<T> {
  header: string;
  cell: (row: T) => JSX.Element;
  /** Makes the header a button that sorts the rows by this value (ascending, then descending). */
  sort?: (row: T) => string | number;
  /** The class of this column's cells. */
  class?: string;
}

/** Rows that load (`load()` in lib/data.ts): undefined while loading; an error with a retry. */
interface Source<T> {
  value(): readonly T[] | undefined;
  error(): unknown;
  reload(): void;
}

type Order<T> = { column: Column<T>; direction: 1 | -1 };

const compare = (a: string | number, b: string | number) =>
  typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));

const FOCUSABLE = "button:not(:disabled), input:not(:disabled), select:not(:disabled), a[href]";

/**
 * When the focus is in a row that an update removes (or whose focused control it removes, e.g. "Revoke"),
 * moves it to the nearest row's first control instead of letting it fall to the page.
 */
function keepFocus(body: HTMLTableSectionElement | undefined) {
  const row = document.activeElement?.closest("tr");
  if (!body || !row || row.parentElement !== body) return;
  const index = row.sectionRowIndex;
  requestAnimationFrame(() => {
    if (document.activeElement !== document.body || !body.isConnected) return;
    const rows = [...body.rows];
    const near = [...rows.slice(index), ...rows.slice(0, index).reverse()];
    near
      .map((r) => r.querySelector<HTMLElement>(FOCUSABLE))
      .find(Boolean)
      ?.focus();
  });
}

/**
 * A table of rows in its loading / error / empty / ready state. Rows are kept by `key`: a reload updates
 * the rows it still has in place (their controls keep focus) instead of drawing the table again.
 */
export function DataTable<T>(
  props: {
    /** The table's accessible name (a caption for screen readers). */
    caption: string;
    columns: Column<T>[];
    /** A row's identity: a reload keeps the DOM (and focus) of the rows whose key it still has. */
    key: (row: T) => string;
    /** What the rows are ("API keys"): "Loading API keys…", "No API keys yet". Without it an empty list
     * keeps the table and shows `noMatch`. */
    what?: string;
    /** Below "No … yet". */
    empty?: JSX.Element;
    /** Rows shown (e.g. a search); `noMatch` says when none is. */
    filter?: (row: T) => boolean;
    noMatch?: string;
    /** The row's actions (buttons, in tab order), in a last column "Actions". */
    actions?: (row: T) => JSX.Element;
    /** Each row's `data-testid` is this, "-" and its key. */
    testId?: string;
    selected?: (row: T) => boolean;
    class?: string;
  } & ({ of: Source<T>; rows?: never } | { rows: readonly T[]; of?: never }),
) {
  const list = () => props.rows ?? props.of?.value();
  // Read once, so that the header and every row share the same column objects (a page may compute them).
  const columns = createMemo(() => props.columns);
  const [kept, setKept] = createStore<{ key: string; row: T }[]>([]);
  let body: HTMLTableSectionElement | undefined;
  createComputed(() => {
    const rows = list() ?? [];
    keepFocus(body);
    setKept(
      reconcile(
        rows.map((row) => ({ key: props.key(row), row })),
        { key: "key" },
      ),
    );
  });
  const [order, setOrder] = createSignal<Order<T> | null>(null);
  const shown = createMemo(() => {
    const list = kept.filter((entry) => props.filter?.(entry.row) ?? true);
    const by = order();
    const value = by?.column.sort;
    if (by && value) list.sort((a, b) => compare(value(a.row), value(b.row)) * by.direction);
    return list;
  });
  const sortBy = (column: Column<T>) => {
    const now = order();
    setOrder({ column, direction: now?.column === column && now.direction === 1 ? -1 : 1 });
  };
  const ariaSort = (column: Column<T>) => {
    const now = order();
    if (!column.sort) return undefined;
    if (now?.column !== column) return "none";
    return now.direction === 1 ? "ascending" : "descending";
  };

  return (
    <Switch>
      <Match when={props.of?.error()}>
        <ErrorBox error={props.of?.error()} retry={props.of?.reload} />
      </Match>
      <Match when={!list()}>
        <Loading what={props.what ?? props.caption} />
      </Match>
      <Match when={props.what && list()?.length === 0}>
        <Empty title={`No ${props.what} yet`}>{props.empty}</Empty>
      </Match>
      <Match when={list()}>
        <div class="table-wrap">
          <table class={props.class}>
            <caption class="sr-only">{props.caption}</caption>
            <thead>
              <tr>
                <For each={columns()}>
                  {(column) => (
                    <th scope="col" aria-sort={ariaSort(column)}>
                      <Show when={column.sort} fallback={column.header}>
                        <button type="button" class="sort" onClick={() => sortBy(column)}>
                          {column.header}
                        </button>
                      </Show>
                    </th>
                  )}
                </For>
                <Show when={props.actions}>
                  <th scope="col">Actions</th>
                </Show>
              </tr>
            </thead>
            <tbody ref={body}>
              <For
                each={shown()}
                fallback={
                  <Show when={props.noMatch}>
                    <tr>
                      <td colSpan={columns().length + (props.actions ? 1 : 0)}>{props.noMatch}</td>
                    </tr>
                  </Show>
                }
              >
                {(entry) => (
                  <tr
                    data-testid={props.testId && `${props.testId}-${entry.key}`}
                    classList={{ selected: props.selected?.(entry.row) ?? false }}
                  >
                    <For each={columns()}>
                      {(column) => <td class={column.class}>{column.cell(entry.row)}</td>}
                    </For>
                    <Show when={props.actions}>
                      {(actions) => (
                        <td>
                          <div class="page-actions">{actions()(entry.row)}</div>
                        </td>
                      )}
                    </Show>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Match>
    </Switch>
  );
}
