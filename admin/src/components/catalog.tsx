import type { ItemSource } from "@omni/contracts";
import { Show } from "solid-js";
import { Action, Badge } from "./ui.tsx";

/** A catalogue item as the Prompts and Resources pages list it. */
interface Item {
  /** The organization's row (own item, override or disable marker); null for an untouched default. */
  id: string | null;
  source: ItemSource;
  disabled: boolean;
  visible: boolean;
}

const own = (item: Item) => item.source === "org" || item.source === "override";

/** Where an item comes from, and whether this organization switched it off. */
export function SourceBadges(props: {
  item: Item;
  /** Also say "hidden" when the item is not disabled yet offered to no client (another of its name wins). */
  showHidden?: boolean;
}) {
  const source = () => props.item.source;
  return (
    <>
      <Badge tone={source() === "org" ? "info" : source() === "override" ? "warn" : "muted"}>
        {source() === "org" ? "custom" : source()}
      </Badge>{" "}
      <Show when={props.item.disabled}>
        <Badge tone="bad">disabled</Badge>
      </Show>
      <Show when={props.showHidden && !props.item.visible && !props.item.disabled}>
        <Badge>hidden</Badge>
      </Show>
    </>
  );
}

/**
 * An item's row actions: edit (own items) or override (defaults), disable/enable (defaults), and delete
 * (own items) or revert (overrides). `name` ends each button's accessible name ("Edit release_notes").
 */
export function CatalogActions(props: {
  item: Item;
  name: string;
  onEdit: () => void;
  onToggle: () => void;
  onRemove: () => void;
}) {
  const item = () => props.item;
  const toggle = () => (item().disabled ? "Enable" : "Disable");
  const remove = () => (item().source === "override" ? "Revert" : "Delete");
  return (
    <>
      <Action need="admin:write" class="" label={`Edit ${props.name}`} onClick={props.onEdit}>
        {own(item()) ? "Edit" : "Override"}
      </Action>
      <Show when={item().source !== "org"}>
        <Action need="admin:write" class="" label={`${toggle()} ${props.name}`} onClick={props.onToggle}>
          {toggle()}
        </Action>
      </Show>
      <Show when={item().id && own(item())}>
        <Action
          need="admin:write"
          class="danger"
          label={`${remove()} ${props.name}`}
          onClick={props.onRemove}
        >
          {remove()}
        </Action>
      </Show>
    </>
  );
}
