import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { RunningServer } from "@omni/kit";
import {
  addToCatalogue,
  emptyDatabase,
  type GatewayProcess,
  omni,
  serveFixture,
  startGateway,
} from "./fixtures/harness.ts";

/**
 * `omni servers policy` with the real binary against a real gateway process: a role's policy (allow-list,
 * rename, description) seen by an MCP client, the listing, a discovery bundle at /mcp/b/<slug>, and bad
 * command lines refused with exit 2 before anything is sent.
 */

setDefaultTimeout(60_000);

let database: Awaited<ReturnType<typeof emptyDatabase>>;
let fixture: RunningServer;
let gateway: GatewayProcess;
let ownerKey = "";

const as = () => ({ OMNI_URL: gateway.url, OMNI_API_KEY: ownerKey });

async function listTools(path = "/mcp") {
  const client = new Client({ name: "cli-policy-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${ownerKey}` } },
    }),
  );
  const { tools } = await client.listTools();
  await client.close();
  return tools;
}

beforeAll(async () => {
  database = await emptyDatabase();
  fixture = serveFixture();
  const env = { DATABASE_URL: database.url };
  expect((await omni(["db", "migrate"], { env })).code).toBe(0);
  ownerKey = (await omni(["orgs", "create", "Policy Co"], { env })).stdout.trim();
  await addToCatalogue(database.url, "fixture", "Fixture (test)");
  gateway = await startGateway({ databaseUrl: database.url, servers: `fixture=${fixture.url}` });
  expect((await omni(["services", "enable", "fixture"], { env: as() })).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await fixture?.stop();
  await database?.drop();
});

test("policy set narrows and renames what the role sees; show lists it; clear undoes it", async () => {
  const set = await omni(
    [
      "servers",
      "policy",
      "set",
      "owner",
      "--allow",
      "fixture_echo,fixture_steps",
      "--rename",
      "fixture_echo=echo",
      "--describe",
      "fixture_echo=Says it back",
    ],
    { env: as() },
  );
  expect(set.code).toBe(0);
  expect(set.stdout).toContain("owner policy: allow fixture_echo,fixture_steps, 1 override(s)");
  const tools = await listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(["echo", "fixture_steps"]);
  expect(tools.find((t) => t.name === "echo")?.description).toBe("Says it back");

  const shown = await omni(["servers", "policy", "show", "--json"], { env: as() });
  const listed = JSON.parse(shown.stdout) as {
    policies: { scope: string; mode: string }[];
    tools: { tool: string; visibleTo: string[] }[];
  };
  expect(listed.policies).toEqual([expect.objectContaining({ scope: "owner", mode: "allow" })]);
  expect(listed.tools.find((t) => t.tool === "fixture_ask")?.visibleTo.sort()).toEqual(["admin", "member"]);
  const table = await omni(["servers", "policy", "show"], { env: as() });
  expect(table.stdout).toContain("fixture_echo→echo");

  expect((await omni(["servers", "policy", "clear", "owner"], { env: as() })).code).toBe(0);
  expect((await listTools()).map((t) => t.name)).toContain("fixture_ask");
});

test("bundle-add serves a discovery bundle at /mcp/b/<slug>; bundles lists it; bundle-remove deletes it", async () => {
  const added = await omni(
    ["servers", "policy", "bundle-add", "team", "--tools", "fixture_*", "--discovery"],
    {
      env: as(),
    },
  );
  expect(added.code).toBe(0);
  expect(added.stdout).toContain("/mcp/b/team");
  expect((await listTools("/mcp/b/team")).map((t) => t.name).sort()).toEqual(["call_tool", "search_tools"]);
  const listed = await omni(["servers", "policy", "bundles", "--json"], { env: as() });
  expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ slug: "team", discovery: true })]);
  expect((await omni(["servers", "policy", "bundle-remove", "team"], { env: as() })).code).toBe(0);
  const again = await omni(["servers", "policy", "bundle-remove", "team"], { env: as() });
  expect(again.code).toBe(1);
  expect(again.stderr).toContain("bundles");
});

test("bad command lines exit 2 with what is wrong", async () => {
  const scope = await omni(["servers", "policy", "set", "nobody", "--deny", "x"], { env: as() });
  expect(scope.code).toBe(2);
  expect(scope.stderr).toContain("org, member, admin, owner");
  const name = await omni(["servers", "policy", "set", "org", "--allow", "bad name!"], { env: as() });
  expect(name.code).toBe(2);
  expect(name.stderr).toContain("invalid policy: tools");
  const both = await omni(["servers", "policy", "set", "org", "--allow", "a", "--deny", "b"], { env: as() });
  expect(both.code).toBe(2);
});
