import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Subprocess } from "bun";
import { emptyDatabase, type GatewayProcess, omni, repoRoot, startGateway } from "./fixtures/harness.ts";

/**
 * `omni servers add|list|remove` with the real binary and a real gateway process: an MCP Registry
 * server.json imported from a file (package → the operator's stdio command) and from a registry URL on
 * loopback (remote → a Streamable HTTP upstream: server-everything), a stdio command (server-memory),
 * each seen and called by an MCP client within FEDERATION_RELOAD_MS, then removed.
 */

setDefaultTimeout(60_000);

const modules = join(repoRoot, "gateway/node_modules/@modelcontextprotocol");
let database: Awaited<ReturnType<typeof emptyDatabase>>;
let gateway: GatewayProcess;
let everything: Subprocess;
let registry: ReturnType<typeof Bun.serve>;
let ownerKey = "";
const dir = mkdtempSync(join(tmpdir(), "omni-servers-"));
const env = () => ({ DATABASE_URL: database.url });

async function until<T>(probe: () => Promise<T>, what: string): Promise<NonNullable<T>> {
  for (let i = 0; i < 400; i++) {
    const value = await probe().catch(() => null);
    if (value) return value;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function client(): Promise<Client> {
  const c = new Client({ name: "cli-servers-test", version: "1.0.0" });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${ownerKey}` } },
    }),
  );
  return c;
}

const toolNames = async () => {
  const c = await client();
  const { tools } = await c.listTools();
  await c.close();
  return tools.map((t) => t.name);
};

beforeAll(async () => {
  database = await emptyDatabase();
  expect((await omni(["db", "migrate"], { env: env() })).code).toBe(0);
  ownerKey = (await omni(["orgs", "create", "Fed Co"], { env: env() })).stdout.trim();
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  everything = Bun.spawn(["node", join(modules, "server-everything/dist/index.js"), "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  await until(() => fetch(`http://127.0.0.1:${port}/mcp`, { method: "HEAD" }).then(() => true), "everything");
  // A registry stand-in on loopback: GET /v0/servers/<id> → { server: <server.json> }.
  registry = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      Response.json({
        server: {
          name: "io.github.modelcontextprotocol/server-everything",
          version: "2026.8.31",
          remotes: [{ type: "streamable-http", url: `http://127.0.0.1:${port}/mcp` }],
        },
      }),
  });
  gateway = await startGateway({
    databaseUrl: database.url,
    servers: "",
    env: { FEDERATION_RELOAD_MS: "200" },
  });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  registry?.stop(true);
  everything?.kill();
  await everything?.exited;
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test("server.json with a package becomes the operator's stdio command; listed, then removed", async () => {
  const file = join(dir, "server.json");
  writeFileSync(
    file,
    JSON.stringify({
      name: "io.github.acme/weather",
      version: "1.2.3",
      packages: [
        {
          registryType: "npm",
          identifier: "@acme/weather-mcp",
          version: "1.2.3",
          transport: { type: "stdio" },
        },
      ],
    }),
  );
  const added = await omni(["servers", "add", "--from", file, "--json"], { env: env() });
  expect(added.code).toBe(0);
  const row = JSON.parse(added.stdout) as {
    prefix: string;
    transport: string;
    command: string;
    args: string[];
  };
  expect(row).toMatchObject({
    prefix: "weather",
    transport: "stdio",
    command: "npx",
    args: ["-y", "@acme/weather-mcp@1.2.3"],
  });
  const list = await omni(["servers", "list", "--json"], { env: env() });
  expect((JSON.parse(list.stdout) as { prefix: string }[]).map((r) => r.prefix)).toEqual(["weather"]);
  expect((await omni(["servers", "remove", "weather"], { env: env() })).code).toBe(0);
  expect(JSON.parse((await omni(["servers", "list", "--json"], { env: env() })).stdout)).toEqual([]);
});

test("a registry URL's remote becomes the org's Streamable HTTP upstream, seen and called live", async () => {
  const added = await omni(
    [
      "servers",
      "add",
      "--from",
      `${registry.url}v0/servers/everything`,
      "--prefix",
      "every",
      "--org",
      "fed-co",
    ],
    { env: env() },
  );
  expect(added.code).toBe(0);
  expect(added.stdout).toContain("every");
  await until(async () => (await toolNames()).includes("every_echo"), "every_echo in tools/list");
  const c = await client();
  const echo = await c.callTool({ name: "every_echo", arguments: { message: "via cli" } });
  expect(echo.content).toEqual([{ type: "text", text: "Echo: via cli" }]);
  await c.close();
  // A second upstream cannot take the same prefix.
  const again = await omni(
    ["servers", "add", "x", "--url", "http://127.0.0.1:1/mcp", "--prefix", "every", "--org", "fed-co"],
    {
      env: env(),
    },
  );
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('prefix "every"');
  expect((await omni(["servers", "remove", "every", "--org", "fed-co"], { env: env() })).code).toBe(0);
  await until(async () => !(await toolNames()).includes("every_echo"), "every_echo to go");
});

test("a stdio command (server-memory) as a global upstream; bad command lines exit 2", async () => {
  const memory = join(modules, "server-memory/dist/index.js");
  const added = await omni(
    [
      "servers",
      "add",
      "memory",
      "--command",
      "node",
      "--arg",
      memory,
      "--env",
      `MEMORY_FILE_PATH=${join(dir, "m.jsonl")}`,
    ],
    { env: env() },
  );
  expect(added.code).toBe(0);
  await until(async () => (await toolNames()).includes("memory_read_graph"), "memory tools");
  const c = await client();
  const graph = await c.callTool({ name: "memory_read_graph", arguments: {} });
  expect(graph.isError).toBeFalsy();
  await c.close();
  expect(
    (await omni(["servers", "add", "--url", "http://127.0.0.1:1/mcp", "--command", "x"], { env: env() }))
      .code,
  ).toBe(2);
  expect((await omni(["servers", "add", "x", "--url", "not a url"], { env: env() })).code).toBe(2);
  expect((await omni(["servers", "remove", "memory"], { env: env() })).code).toBe(0);
});
