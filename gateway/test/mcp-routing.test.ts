import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Stack, startStack } from "./fixtures/stack.ts";
import { alphaServer, betaServer } from "./fixtures/test-servers.ts";

let stack: Stack;

beforeAll(async () => {
  // Health checks effectively off: the test controls when instances are (re)discovered.
  stack = await startStack({
    servers: [alphaServer, betaServer],
    replicas: { alpha: 1, beta: 1 },
    healthIntervalMs: 600_000,
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

async function connect(): Promise<Client> {
  const client = new Client({ name: "routing", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  return client;
}

test("/health lists every server with its instances", async () => {
  const health = (await (await fetch(`${stack.url}/health`)).json()) as {
    status: string;
    version: string;
    uptime: number;
    servers: { name: string; instances: number; healthy: number }[];
  };
  expect(health.status).toBe("ok");
  expect(typeof health.version).toBe("string");
  expect(health.servers).toEqual(
    expect.arrayContaining([
      { name: "alpha", instances: 2, healthy: 2 },
      { name: "beta", instances: 2, healthy: 2 },
    ]),
  );
});

test("an idempotent read is retried once on another instance; a non-idempotent call is not", async () => {
  const client = await connect();
  // Stop the first instance of each server without telling the registry (it still thinks both are healthy).
  await stack.stopServer("alpha");
  await stack.stopServer("beta");
  // alpha_echo is readOnly + idempotent: whichever instance is picked first, the call succeeds.
  for (let i = 0; i < 3; i++) {
    const echo = await client.callTool({ name: "alpha_echo", arguments: { text: `r${i}` } });
    expect(echo.isError).toBeFalsy();
  }
  expect(stack.registry.health().find((s) => s.name === "alpha")).toEqual({
    name: "alpha",
    instances: 2,
    healthy: 1,
  });
  // beta_add has no idempotent hint: a call that lands on the dead instance fails with -32003 (not retried),
  // and marks it down, so the next call goes to the live replica.
  const outcomes: string[] = [];
  for (let i = 0; i < 2; i++) {
    outcomes.push(
      await client.callTool({ name: "beta_add", arguments: { a: 1, b: i } }).then(
        () => "ok",
        (error: Error) => (/-32003/.test(error.message) ? "unavailable" : error.message),
      ),
    );
  }
  expect(outcomes.at(-1)).toBe("ok");
  expect(outcomes.filter((o) => o !== "ok" && o !== "unavailable")).toEqual([]);
  await stack.restartServer("alpha");
  await stack.restartServer("beta");
  await stack.registry.check();
  expect(stack.registry.health().every((s) => s.healthy === 2)).toBe(true);
  await client.close();
});

test("least outstanding requests: a busy instance is avoided", async () => {
  const first = stack.registry.pick("alpha");
  expect(first).not.toBeNull();
  first!.outstanding += 5;
  try {
    const next = stack.registry.pick("alpha");
    expect(next).not.toBe(first);
    expect(next?.server).toBe("alpha");
  } finally {
    first!.outstanding -= 5;
  }
});
