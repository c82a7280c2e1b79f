import { afterAll, expect, test } from "bun:test";
import { RedisSessionBus } from "../src/mcp/session-bus.ts";
import { openRedis } from "./config-fixtures.ts";

/**
 * The Redis session bus's parts of resumable POST streams (`post-stream.ts`) on a real Redis: a stream's
 * buffer is per session and per stream, kept briefly once answered; a `probe` reaches a replica only
 * while it is alive (what a resumed stream asks before it gives a request up as lost).
 */
const { redis, prefix, cleanup } = openRedis();
afterAll(async () => {
  await cleanup();
  redis.disconnect();
});

test("a POST stream's buffer belongs to one session and one stream; answered, it goes after the delay", async () => {
  const bus = new RedisSessionBus(redis, prefix, { warn: () => {} });
  await bus.ready;
  const first = { id: "p.r.0.MQ.0", message: { jsonrpc: "2.0", method: "notifications/progress" } };
  const answer = { id: "p.r.0.MQ.1", message: { jsonrpc: "2.0", id: 1, result: {} } };
  bus.recordStream("sid-a", "r.0.MQ", first);
  bus.recordStream("sid-a", "r.0.MQ", answer);
  bus.recordStream("sid-b", "r.1.Mg", { id: "p.r.1.Mg.0", message: { jsonrpc: "2.0", method: "x" } });
  for (let i = 0; i < 100 && (await bus.replayStream("sid-a", "r.0.MQ")).length < 2; i++) await Bun.sleep(10);
  expect(await bus.replayStream("sid-a", "r.0.MQ")).toEqual([first, answer]);
  expect(await bus.replayStream("sid-b", "r.0.MQ")).toEqual([]); // another session: nothing
  expect(await bus.replay("sid-a", "anything")).toEqual([]); // not in the GET stream's buffer
  bus.dropStream("sid-a", "r.0.MQ", 50);
  for (let i = 0; i < 100 && (await bus.replayStream("sid-a", "r.0.MQ")).length > 0; i++) await Bun.sleep(10);
  expect(await bus.replayStream("sid-a", "r.0.MQ")).toEqual([]);
  await bus.close();
});

test("a probe is delivered only while the replica it names is alive; stream events reach the others", async () => {
  const a = new RedisSessionBus(redis, prefix, { warn: () => {} });
  const other = redis.duplicate();
  const b = new RedisSessionBus(other, prefix, { warn: () => {} });
  await Promise.all([a.ready, b.ready]);
  expect(await a.send(b.replica, { t: "probe", sid: "s" })).toBe(true);
  const heard = new Promise((resolve) =>
    b.onMessage((message) => {
      if (message.t === "stream") resolve(message);
    }),
  );
  const event = { id: "p.x.0.MQ.0", message: { jsonrpc: "2.0", method: "notifications/progress" } };
  await a.broadcast({ t: "stream", sid: "s", stream: "x.0.MQ", event });
  expect(await heard).toEqual({ t: "stream", sid: "s", stream: "x.0.MQ", event });
  await b.close();
  // (Redis drops the subscriber once its connection is closed.)
  let delivered = true;
  for (let i = 0; i < 200 && delivered; i++) {
    delivered = await a.send(b.replica, { t: "probe", sid: "s" });
    if (delivered) await Bun.sleep(10);
  }
  expect(delivered).toBe(false);
  await a.close();
  other.disconnect();
});
