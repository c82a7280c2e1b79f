import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { RunningServer } from "@omni/kit";
import {
  addToCatalogue,
  cleanEnv,
  emptyDatabase,
  type GatewayProcess,
  omni,
  repoRoot,
  serveFixture,
  startGateway,
} from "./fixtures/harness.ts";

/**
 * `omni connect` carries a whole MCP session for the SDK's stdio client: initialize, lists, calls, and the
 * server-to-client requests of a tool (elicitation, sampling, roots) answered by the stdio client.
 */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

let database: Awaited<ReturnType<typeof emptyDatabase>>;
let fixture: RunningServer;
let gateway: GatewayProcess;
let key = "";

beforeAll(async () => {
  database = await emptyDatabase();
  fixture = serveFixture();
  expect((await omni(["db", "migrate"], { env: { DATABASE_URL: database.url } })).code).toBe(0);
  const created = await omni(["orgs", "create", "Bridge", "--json"], { env: { DATABASE_URL: database.url } });
  key = (JSON.parse(created.stdout) as { secret: string }).secret;
  await addToCatalogue(database.url, "fixture", "Fixture (test)");
  gateway = await startGateway({ databaseUrl: database.url, servers: `fixture=${fixture.url}` });
  const enabled = await omni(["services", "enable", "fixture"], {
    env: { OMNI_URL: gateway.url, OMNI_API_KEY: key },
  });
  expect(enabled.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await fixture?.stop();
  await database?.drop();
});

function bridge(env: Record<string, string>): StdioClientTransport {
  return new StdioClientTransport({
    command: "bun",
    args: [join(repoRoot, "cli/src/main.ts"), "connect"],
    env: { ...(cleanEnv() as Record<string, string>), ...env },
    stderr: "pipe",
  });
}

describe("omni connect", () => {
  test("a stdio client gets a full session: lists, calls, elicitation + sampling + roots round trips", async () => {
    const client = new Client(
      { name: "stdio-client", version: "1.0.0" },
      { capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } } },
    );
    const seen: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      seen.push(`elicit:${request.params.message}`);
      return { action: "accept", content: { name: "Ada" } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const first = request.params.messages[0]?.content;
      seen.push(`sample:${first && "text" in first ? first.text : "?"}`);
      return { role: "assistant", model: "test-model", content: { type: "text", text: "Hello Ada!" } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      seen.push("roots");
      return { roots: [{ uri: "file:///work/project", name: "project" }] };
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {});

    const transport = bridge({ OMNI_URL: gateway.url, OMNI_API_KEY: key });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe("omni-mcp");

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "fixture_ask",
      "fixture_confirm",
      "fixture_echo",
      "fixture_steps",
    ]);
    const echo = await client.callTool({ name: "fixture_echo", arguments: { text: "via stdio" } });
    expect(JSON.stringify(echo.content)).toContain("via stdio");

    const asked = await client.callTool({ name: "fixture_ask", arguments: {} });
    expect(asked.isError).toBeFalsy();
    expect(JSON.stringify(asked.content)).toContain("accept Ada: Hello Ada!; roots file:///work/project");
    expect(seen).toEqual(["elicit:Your name?", "sample:Greet Ada", "roots"]);

    // Every progress notification that reaches the client, read off the transport: the SDK's per-call
    // `onprogress` drops one that lands after the result, and relaying is what this test is about.
    const progress: string[] = [];
    const deliver = transport.onmessage;
    transport.onmessage = (message) => {
      if ("method" in message && message.method === "notifications/progress" && message.params) {
        const p = message.params as { progress?: number; total?: number; message?: string };
        progress.push(`${p.progress}/${p.total}:${p.message}`);
      }
      deliver?.(message);
    };
    const steps = await client.callTool({ name: "fixture_steps", arguments: {} }, undefined, {
      onprogress: () => {},
    });
    expect(JSON.stringify(steps.content)).toContain("finished");
    for (let waited = 0; progress.length < 2 && waited < 5_000; waited += 50) await Bun.sleep(50);
    expect(progress).toEqual(["1/2:halfway", "2/2:done"]);

    const prompt = await client.getPrompt({ name: "fixture_greet", arguments: { who: "stdio" } });
    expect(JSON.stringify(prompt.messages)).toContain("Say hello to stdio.");
    await client.close();
  });

  test("a bad key: the bridge answers initialize with an error and the client sees why", async () => {
    const client = new Client({ name: "stdio-client", version: "1.0.0" });
    const transport = bridge({
      OMNI_URL: gateway.url,
      OMNI_API_KEY: "omni_sk_badbadba_0000000000000000000000000000000000000000000",
    });
    const stderr: string[] = [];
    transport.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    await expect(client.connect(transport)).rejects.toThrow(/unreachable or refused|401/);
    await client.close();
    expect(stderr.join("")).toMatch(/failed/);
  });
});
