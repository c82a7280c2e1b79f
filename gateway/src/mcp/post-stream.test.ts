import { expect, test } from "bun:test";
import {
  endedEventId,
  eventSeq,
  isResponseTo,
  newPostStream,
  PostStreamHub,
  parsePostEventId,
  postEventId,
} from "./post-stream.ts";
import { MemorySessionBus, type StreamEvent } from "./session-bus.ts";
import { ResponseChannel } from "./sse.ts";

test("event ids name their stream, request and sequence; anything else is no POST stream's", () => {
  for (const requestId of [7, "abc", "with.dots and spaces", 0]) {
    const name = newPostStream("r3plica_", requestId);
    if (!name) throw new Error("no stream name");
    expect(parsePostEventId(postEventId(name, 12))).toEqual({ ...name, seq: 12 });
    expect(parsePostEventId(endedEventId(name))).toEqual({ ...name, seq: undefined });
    expect(eventSeq(name, postEventId(name, 12))).toBe(12);
    expect(eventSeq(name, endedEventId(name))).toBeUndefined();
    expect(eventSeq(name, `${postEventId(name, 1)}x`)).toBeUndefined();
  }
  expect(newPostStream("r", "x".repeat(200))).toBeUndefined(); // too long for a header: not resumable
  for (const id of [
    "lz1-abc-1", // a GET stream's id
    "p.r.1.MQ", // no sequence
    "x.r.1.MQ.3", // an ended marker has none
    "p.r.1.bm90IGpzb24.1", // not JSON
    "p.r.1.e30.1", // JSON, not an id
    "p.r.1.MQ.1\n",
  ])
    expect(parsePostEventId(id)).toBeUndefined();
});

test("a stream records each event with its id; once detached it publishes them, the answer last", async () => {
  const bus = new MemorySessionBus();
  const hub = new PostStreamHub(bus);
  const channel = new ResponseChannel({});
  const stream = hub.open("sid-1", 5, channel);
  stream.out.send({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } });
  const response = await channel.response;
  const first = new TextDecoder().decode((await response.body?.getReader().read())?.value);
  const name = parsePostEventId(/id: (\S+)/.exec(first)?.[1] ?? "");
  if (!name) throw new Error(`no event id in ${first}`);
  expect(name.requestId).toBe(5);
  expect(hub.isRunning(name.stream)).toBe(true);
  const heard: StreamEvent[] = [];
  hub.listen("sid-1", name.stream, (event) => heard.push(event));
  const other: StreamEvent[] = [];
  hub.listen("sid-2", name.stream, (event) => other.push(event)); // another session, same name: nothing
  stream.detach();
  stream.out.send({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 2 } });
  const answer = { jsonrpc: "2.0", id: 5, result: { content: [] } };
  stream.finish(answer);
  expect(hub.isRunning(name.stream)).toBe(false);
  expect(heard.map((e) => e.id)).toEqual([postEventId(name, 1), postEventId(name, 2)]);
  expect(other).toEqual([]);
  const recorded = await bus.replayStream("sid-1", name.stream);
  expect(recorded.map((e) => e.id)).toEqual([0, 1, 2].map((n) => postEventId(name, n)));
  expect(isResponseTo(recorded[2]!.message, 5)).toBe(true);
  expect(isResponseTo(recorded[1]!.message, 5)).toBe(false);
});

test("an answer on its own connection is kept only briefly; a JSON answer never had a buffer", async () => {
  const bus = new MemorySessionBus();
  const hub = new PostStreamHub(bus);
  const channel = new ResponseChannel({});
  const a = hub.open("sid", 1, channel);
  a.out.send({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x" } });
  const first = new TextDecoder().decode((await (await channel.response).body?.getReader().read())?.value);
  const streamed = parsePostEventId(/id: (\S+)/.exec(first)?.[1] ?? "");
  if (!streamed) throw new Error(`no event id in ${first}`);
  expect((await bus.replayStream("sid", streamed.stream)).length).toBe(1);
  a.finish({ jsonrpc: "2.0", id: 1, result: {} });
  expect(hub.isRunning(streamed.stream)).toBe(false);
  // Still there for a connection that broke unnoticed (30 s), then gone: the buffer's clock is set back.
  const kept = await bus.replayStream("sid", streamed.stream);
  expect(kept.map((e) => isResponseTo(e.message, 1))).toEqual([false, true]);
  bus.dropStream("sid", streamed.stream, 0);
  expect(await bus.replayStream("sid", streamed.stream)).toEqual([]);
  const jsonChannel = new ResponseChannel({});
  hub.open("sid", 2, jsonChannel).finish({ jsonrpc: "2.0", id: 2, result: {} });
  expect((await jsonChannel.response).headers.get("content-type")).toBe("application/json");
});
