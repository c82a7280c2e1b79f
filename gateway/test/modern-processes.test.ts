import { afterAll, beforeAll, expect, test } from "bun:test";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTestDatabase } from "@omni/db";
import type { RunningServer } from "@omni/kit";
import { modernServer } from "./fixtures/modern-server.ts";
import {
  modernToolCall as call,
  elicitingClient,
  enableForDemoOrg,
  roundRobin,
  serveQuietly,
} from "./fixtures/replicas.ts";

/**
 * Two gateway processes (the real entry point, `gateway/src/index.ts`) on one Postgres database, sharing
 * OMNI_STATE_KEY, in front of one domain server. A modern client's consecutive requests alternate between
 * them; an input_required round trip started on one finishes on the other.
 */

const entry = new URL("../src/index.ts", import.meta.url).pathname;

let database: NonNullable<Awaited<ReturnType<typeof createTestDatabase>>>;
let domain: RunningServer;
const gateways: { url: string; proc: ReturnType<typeof Bun.spawn>; hits: number }[] = [];

/** Starts one gateway process and resolves with its URL once it listens. */
async function startGateway(
  env: Record<string, string>,
): Promise<{ url: string; proc: ReturnType<typeof Bun.spawn> }> {
  const proc = Bun.spawn(["bun", entry], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done)
      throw new Error(`gateway exited before listening: ${seen}${await new Response(proc.stderr).text()}`);
    seen += decoder.decode(value, { stream: true });
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
    if (match?.[1]) {
      // Keep draining its output: with the pipe closed, the process's next log line (e.g. the access
      // log) would fail with EPIPE and kill it.
      void (async () => {
        while (!(await reader.read()).done) {}
      })().catch(() => {});
      return { url: match[1], proc };
    }
  }
}

beforeAll(async () => {
  const created = await createTestDatabase("postgres", { seed: true });
  if (!created?.url) throw new Error("Postgres at 127.0.0.1:5432 is required for this test");
  database = created;
  domain = serveQuietly(modernServer, { mcp: false });
  await enableForDemoOrg(database.db, modernServer.name);
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: created.url,
    SERVERS: `${modernServer.name}=${domain.url}`,
    OMNI_DEV_MODE: "1",
    OMNI_STATE_KEY: "ef".repeat(32),
    // SIGTERM at the end: no balancer to tell, so no drain delay.
    DRAIN_DELAY_MS: "0",
  };
  for (const started of await Promise.all([startGateway(env), startGateway(env)])) {
    gateways.push({ ...started, hits: 0 });
  }
}, 90_000);

afterAll(async () => {
  for (const gateway of gateways) gateway.proc.kill();
  await Promise.all(gateways.map((gateway) => gateway.proc.exited));
  await domain?.stop();
  await database?.close();
}, 30_000);

test("a modern client's requests alternate between two gateway processes without errors", async () => {
  const answers = [{ name: "Ada" }, { colour: "teal" }];
  const client = elicitingClient("processes", answers);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateways[0]!.url}/mcp`), { fetch: roundRobin(gateways) }),
  );
  expect(client.getProtocolEra()).toBe("modern");
  for (let i = 0; i < 4; i++) {
    const { tools } = await client.listTools(undefined, { cacheMode: "bypass" });
    expect(tools.map((t) => t.name)).toContain("modern_echo");
    const echo = await client.callTool({ name: "modern_echo", arguments: { text: `p${i}` } });
    expect(echo.content).toEqual([{ type: "text", text: `echo: p${i}` }]);
  }
  const greet = await client.callTool({ name: "modern_greet", arguments: {} });
  expect(greet.content).toEqual([{ type: "text", text: "Hello, Ada (teal)!" }]);
  expect(gateways[0]!.hits).toBeGreaterThan(3);
  expect(gateways[1]!.hits).toBeGreaterThan(3);
  await client.close();
});

test("an input_required round trip started on one process finishes on the other; tampering is refused", async () => {
  const [a, b] = gateways as [(typeof gateways)[0], (typeof gateways)[0]];
  const first = (await call(a.url, { name: "modern_greet", arguments: {} })).result as Record<
    string,
    unknown
  >;
  expect(first.resultType).toBe("input_required");
  const [key1] = Object.keys(first.inputRequests as object);
  const second = (
    await call(b.url, {
      name: "modern_greet",
      arguments: {},
      inputResponses: { [key1!]: { action: "accept", content: { name: "Cy" } } },
      requestState: first.requestState,
    })
  ).result as Record<string, unknown>;
  const [key2] = Object.keys(second.inputRequests as object);
  const answer = { [key2!]: { action: "accept", content: { colour: "plum" } } };
  const tampered = await call(a.url, {
    name: "modern_greet",
    arguments: {},
    inputResponses: answer,
    requestState: `${String(second.requestState)}x`,
  });
  expect(tampered.error).toMatchObject({ code: -32602 });
  const done = await call(a.url, {
    name: "modern_greet",
    arguments: {},
    inputResponses: answer,
    requestState: second.requestState,
  });
  expect(done.result).toMatchObject({
    resultType: "complete",
    content: [{ type: "text", text: "Hello, Cy (plum)!" }],
  });
});
