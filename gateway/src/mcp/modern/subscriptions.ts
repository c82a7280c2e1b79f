import type { RequestId, SubscriptionFilter } from "@omni/contracts";
import type { ChangeKind, ConfigChange } from "../../ports.ts";
import { type Json, notificationMessage } from "../protocol.ts";
import { META } from "./era.ts";

const FLAG_OF: Record<ChangeKind, "toolsListChanged" | "promptsListChanged" | "resourcesListChanged"> = {
  tools: "toolsListChanged",
  prompts: "promptsListChanged",
  resources: "resourcesListChanged",
};

/** The notifications one change produces for one listen stream (tagged with its subscription id). Pure. */
export function notificationsFor(
  filter: SubscriptionFilter,
  change: ConfigChange,
  subscriptionId: RequestId,
): Json[] {
  const meta = { [META.subscriptionId]: subscriptionId };
  const out: Json[] = [];
  for (const kind of change.kinds) {
    if (filter[FLAG_OF[kind]])
      out.push(notificationMessage(`notifications/${kind}/list_changed`, { _meta: meta }));
  }
  for (const uri of change.uris ?? []) {
    if (filter.resourceSubscriptions?.includes(uri)) {
      out.push(notificationMessage("notifications/resources/updated", { uri, _meta: meta }));
    }
  }
  return out;
}

interface Listener {
  orgId: string;
  /** The caller as a task owner (`taskOwner`), for task notifications. */
  owner: string | null;
  /** The listen request declared the tasks extension: it gets `notifications/tasks/status`. */
  tasks: boolean;
  filter: SubscriptionFilter;
  subscriptionId: RequestId;
  send(message: Json): void;
}

/**
 * Open `subscriptions/listen` streams of this replica, fed by the same change events that drive 2025
 * `list_changed` (the config service's, which carry other replicas' changes when Redis is configured,
 * and the registry's).
 */
export class ListenHub {
  private readonly listeners = new Set<Listener>();

  add(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A change of one org's configuration. */
  publish(change: ConfigChange): void {
    for (const listener of this.listeners) {
      if (listener.orgId !== change.orgId) continue;
      for (const message of notificationsFor(listener.filter, change, listener.subscriptionId))
        listener.send(message);
    }
  }

  /** A task's new status (SEP-2663), to the streams of its org (and owner) that declared the extension. */
  publishTask(orgId: string, owner: string | null, task: Json): void {
    for (const listener of this.listeners) {
      if (!listener.tasks || listener.orgId !== orgId) continue;
      if (owner !== null && listener.owner !== owner) continue;
      const meta = { [META.subscriptionId]: listener.subscriptionId };
      listener.send(notificationMessage("notifications/tasks/status", { ...task, _meta: meta }));
    }
  }

  /** The servers' capabilities changed: every org's lists may have. */
  publishAll(kinds: ChangeKind[]): void {
    const orgs = new Set([...this.listeners].map((l) => l.orgId));
    for (const orgId of orgs) this.publish({ orgId, kinds });
  }

  get size(): number {
    return this.listeners.size;
  }
}
