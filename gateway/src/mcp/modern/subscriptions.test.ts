import { describe, expect, test } from "bun:test";
import { ListenParams } from "@omni/contracts";
import { method, parseParams } from "../core/methods.ts";
import { META } from "./era.ts";
import { ListenHub, notificationsFor } from "./subscriptions.ts";

describe("subscriptions/listen filtering", () => {
  test("a SubscriptionFilter is accepted as it is; a malformed field is named (contracts' ListenParams)", () => {
    const listen = method(ListenParams, (_call, params) => ({ ...params.notifications }));
    expect(
      parseParams(listen, { notifications: { toolsListChanged: true, resourceSubscriptions: ["a://b"] } }),
    ).toEqual({
      notifications: { toolsListChanged: true, resourceSubscriptions: ["a://b"] },
    });
    expect(() => parseParams(listen, {})).toThrow("params.notifications");
    expect(() => parseParams(listen, { notifications: { toolsListChanged: "yes" } })).toThrow(
      "toolsListChanged",
    );
    expect(() => parseParams(listen, { notifications: { resourceSubscriptions: [1] } })).toThrow(
      "resourceSubscriptions",
    );
  });

  test("only the kinds and URIs the stream asked for, tagged with its subscription id", () => {
    const change = {
      orgId: "o",
      kinds: ["tools", "prompts"] as ("tools" | "prompts")[],
      uris: ["a://1", "a://2"],
    };
    const out = notificationsFor(
      { promptsListChanged: true, resourceSubscriptions: ["a://2"] },
      change,
      "sub-1",
    );
    expect(out).toEqual([
      {
        jsonrpc: "2.0",
        method: "notifications/prompts/list_changed",
        params: { _meta: { [META.subscriptionId]: "sub-1" } },
      },
      {
        jsonrpc: "2.0",
        method: "notifications/resources/updated",
        params: { uri: "a://2", _meta: { [META.subscriptionId]: "sub-1" } },
      },
    ]);
    expect(notificationsFor({}, change, 1)).toEqual([]);
  });

  test("ListenHub delivers an org's changes to that org's streams only, until detached", () => {
    const hub = new ListenHub();
    const got: string[] = [];
    const detachA = hub.add({
      orgId: "a",
      owner: null,
      tasks: false,
      filter: { toolsListChanged: true },
      subscriptionId: 1,
      send: () => got.push("a"),
    });
    hub.add({
      orgId: "b",
      owner: null,
      tasks: false,
      filter: { toolsListChanged: true },
      subscriptionId: 2,
      send: () => got.push("b"),
    });
    hub.publish({ orgId: "a", kinds: ["tools"] });
    expect(got).toEqual(["a"]);
    hub.publishAll(["tools"]);
    expect(got.sort()).toEqual(["a", "a", "b"]);
    detachA();
    expect(hub.size).toBe(1);
  });

  test("task statuses reach the streams of the task's org (and user) that declared the tasks extension", () => {
    const hub = new ListenHub();
    const got: { who: string; message: Record<string, unknown> }[] = [];
    const listener = (who: string, orgId: string, owner: string | null, tasks: boolean) =>
      hub.add({
        orgId,
        owner,
        tasks,
        filter: {},
        subscriptionId: who,
        send: (message) => got.push({ who, message }),
      });
    listener("a-alice", "a", "alice", true);
    listener("a-bob", "a", "bob", true);
    listener("a-no-ext", "a", "alice", false);
    listener("b-alice", "b", "alice", true);
    hub.publishTask("a", "alice", { taskId: "t1", status: "completed" });
    expect(got.map((g) => g.who)).toEqual(["a-alice"]);
    expect(got[0]?.message).toMatchObject({
      method: "notifications/tasks/status",
      params: { taskId: "t1", status: "completed", _meta: { [META.subscriptionId]: "a-alice" } },
    });
    got.length = 0;
    hub.publishTask("a", null, { taskId: "t2", status: "working" });
    expect(got.map((g) => g.who).sort()).toEqual(["a-alice", "a-bob"]);
  });
});
