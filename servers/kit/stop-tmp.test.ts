import { test, expect } from "bun:test";
import { serve, createServerClient } from "./src/index.ts";
import { createTestServer } from "./test/fixtures/test-server.ts";
import { testScope } from "./test/fixtures/scope.ts";
test("restart on the same port", async () => {
  const { def } = createTestServer();
  let running = serve(def, { port: 0, hostname: "127.0.0.1", internalToken: "tok", mcp: false });
  const client = createServerClient(running.url, { internalToken: "tok" });
  expect(await client.callSocketReady()).toBe(true);
  await client.health();
  await client.callTool({ name: "test_echo", arguments: { text: "a" }, scope: testScope(), live: false });
  await running.stop();
  for (let i = 0; i < 3; i++) console.log("call while down:", await client.callTool({ name: "test_echo", arguments: { text: "a" }, scope: testScope(), live: false }).then(() => "ok", (e: Error) => e.message.slice(0, 120)));
  running = serve(def, { port: running.port, hostname: "127.0.0.1", internalToken: "tok", mcp: false });
  console.log("health after restart:", await client.health().then(() => "ok", (e: Error) => e.message));
  console.log("health again:", await client.health().then(() => "ok", (e: Error) => e.message));
  client.close(); await running.stop();
}, 20000);
