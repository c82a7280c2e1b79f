import { afterEach, expect, test } from "bun:test";
import { ClientGoneWatch } from "./client-gone.ts";

/** A request whose client can go away (its signal is what Bun aborts when the connection closes). */
function request(): { request: Request; leave: () => void } {
  const client = new AbortController();
  return {
    request: new Request("http://127.0.0.1/mcp", { signal: client.signal }),
    leave: () => client.abort(),
  };
}

const watches: ClientGoneWatch[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});
function watch(periodMs: number): ClientGoneWatch {
  const created = new ClientGoneWatch(periodMs);
  watches.push(created);
  return created;
}

test("a client gone before the first listener is found by the sweep; one gone later by its listener", async () => {
  const gone = watch(10);
  const early = request();
  const late = request();
  const seen: string[] = [];
  gone.watch(early.request, () => seen.push("early"));
  gone.watch(late.request, () => seen.push("late"));
  early.leave();
  expect(seen).toEqual([]); // not listened to yet
  await Bun.sleep(40);
  expect(seen).toEqual(["early"]);
  expect(gone.size).toBe(0); // both past their first sweep: the late one is listened to now
  late.leave();
  expect(seen).toEqual(["early", "late"]);
});

test("a call that ends before its first sweep is never listened to; stopping removes the listener", async () => {
  const gone = watch(10);
  const quick = request();
  const slow = request();
  const seen: string[] = [];
  const stopQuick = gone.watch(quick.request, () => seen.push("quick"));
  const stopSlow = gone.watch(slow.request, () => seen.push("slow"));
  stopQuick();
  expect(gone.size).toBe(1);
  await Bun.sleep(40);
  stopSlow();
  quick.leave();
  slow.leave();
  await Bun.sleep(30);
  expect(seen).toEqual([]);
  expect(gone.size).toBe(0);
});
