import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
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
 * The no-Clerk path end to end, with the real binary: an empty Postgres database is migrated and gets an
 * organization whose printed owner key then drives a real gateway (not dev mode) over the admin API and
 * an MCP SDK client; keys are created and revoked; bad command lines exit 2 with the usage.
 */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

let database: Awaited<ReturnType<typeof emptyDatabase>>;
let fixture: RunningServer;
let gateway: GatewayProcess;
let ownerKey = "";

const db = () => ({ DATABASE_URL: database.url });
const as = (key: string) => ({ OMNI_URL: gateway.url, OMNI_API_KEY: key });

async function mcpClient(key: string): Promise<Client> {
  const client = new Client({ name: "cli-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

beforeAll(async () => {
  database = await emptyDatabase();
  fixture = serveFixture();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await fixture?.stop();
  await database?.drop();
});

describe("bootstrap on an empty database", () => {
  test("db status reports every migration pending and exits 1; orgs create refuses until migrated", async () => {
    const status = await omni(["db", "status", "--json"], { env: db() });
    expect(status.code).toBe(1);
    const report = JSON.parse(status.stdout) as { pending: string[]; committed: string[] };
    expect(report.pending.length).toBeGreaterThan(0);
    expect(report.pending).toEqual(report.committed);
    expect(status.stderr).toContain("omni db migrate");

    const early = await omni(["orgs", "create", "Acme"], { env: db() });
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("pending migration");
    expect(early.stderr).toContain("omni db migrate");
  });

  test("db migrate applies them, twice is a no-op, status is then clean", async () => {
    const first = await omni(["db", "migrate"], { env: db() });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration/);
    const second = await omni(["db", "migrate"], { env: db() });
    expect(second.stdout).toContain("up to date");
    const status = await omni(["db", "status", "--json"], { env: db() });
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { pending: string[] }).pending).toEqual([]);
  });

  test("orgs create prints an owner key once; orgs list shows the org", async () => {
    const created = await omni(["orgs", "create", "Acme Corp", "--owner-email", "ops@acme.test"], {
      env: db(),
    });
    expect(created.code).toBe(0);
    ownerKey = created.stdout.trim();
    expect(ownerKey).toMatch(/^omni_sk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain("acme-corp");
    expect(created.stderr).toContain("shown only now");

    const again = await omni(["orgs", "create", "Acme Corp"], { env: db() });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    expect(again.stderr).toContain("--slug");

    const list = await omni(["orgs", "list", "--json"], { env: db() });
    const orgs = JSON.parse(list.stdout) as { slug: string; members: number; keys: number }[];
    expect(orgs).toEqual([expect.objectContaining({ slug: "acme-corp", members: 1, keys: 1 })]);
  });

  test("a gateway on that database accepts the printed key from an MCP client", async () => {
    await addToCatalogue(database.url, "fixture", "Fixture (test)");
    gateway = await startGateway({ databaseUrl: database.url, servers: `fixture=${fixture.url}` });

    const enabled = await omni(["services", "enable", "fixture"], { env: as(ownerKey) });
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toContain("fixture is enabled");

    const client = await mcpClient(ownerKey);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("fixture_echo");
    const result = await client.callTool({ name: "fixture_echo", arguments: { text: "hi" } });
    expect(JSON.stringify(result.content)).toContain("hi (org org_");
    await client.close();
  });
});

describe("operating through the gateway", () => {
  test("services list, tools, call with typed --arg and with --json", async () => {
    const services = await omni(["services", "list", "--json"], { env: as(ownerKey) });
    expect(JSON.parse(services.stdout)).toContainEqual(
      expect.objectContaining({ name: "fixture", enabled: true }),
    );

    const tools = await omni(["tools", "--server", "fixture", "--json"], { env: as(ownerKey) });
    expect((JSON.parse(tools.stdout) as { name: string }[]).map((t) => t.name).sort()).toEqual([
      "fixture_ask",
      "fixture_confirm",
      "fixture_echo",
      "fixture_steps",
    ]);

    const called = await omni(["call", "fixture_echo", "--arg", "text=yo", "--arg", "times=2"], {
      env: as(ownerKey),
    });
    expect(called.code).toBe(0);
    expect(called.stdout).toContain("yo yo (org ");

    const json = await omni(["call", "fixture_echo", "--json", '{"text":"j"}'], { env: as(ownerKey) });
    expect(json.stdout).toContain("j (org ");

    // Elicitation: answered by --elicit-json; without a terminal (as here) declined with what to pass.
    const answered = await omni(["call", "fixture_confirm", "--elicit-json", '{"name":"Ada","sure":true}'], {
      env: as(ownerKey),
    });
    expect(answered.code, answered.stderr).toBe(0);
    expect(answered.stdout.trim()).toBe('accept {"name":"Ada","sure":true}');
    const declined = await omni(["call", "fixture_confirm"], { env: as(ownerKey) });
    expect(declined.code, declined.stderr).toBe(0);
    expect(declined.stdout.trim()).toBe("decline {}");
    expect(declined.stderr).toContain("the tool asks: Who, how many, sure?");
    expect(declined.stderr).toContain(`--elicit-json '{"name": …, "count": …, "sure": …}'`);

    const steps = await omni(["call", "fixture_steps"], { env: as(ownerKey) });
    expect(steps.stdout.trim()).toBe("finished");
    expect(steps.stderr).toContain("progress 1/2: halfway");

    const invalid = await omni(["call", "fixture_echo", "--arg", "times=2"], { env: as(ownerKey) });
    expect(invalid.code).toBe(1);
    // Invalid arguments are the tool's error result (printed) naming the field, so the caller can fix them.
    expect(invalid.stdout + invalid.stderr).toContain("text");
    expect(invalid.stderr).toContain("reported an error");
  });

  test("prompts set / list / get and resources read", async () => {
    const set = await omni(["prompts", "set", "standup", "--text", "Summarise {{team}}'s day."], {
      env: as(ownerKey),
    });
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("created prompt standup (arguments: team)");
    const update = await omni(["prompts", "set", "standup"], {
      env: as(ownerKey),
      stdin: "What did {{team}} ship?",
    });
    expect(update.stdout).toContain("updated prompt standup");

    const list = await omni(["prompts", "list", "--json"], { env: as(ownerKey) });
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({ name: "standup", source: "org" }),
    );

    const got = await omni(["prompts", "get", "standup", "--arg", "team=core"], { env: as(ownerKey) });
    expect(got.code).toBe(0);
    expect(got.stdout).toContain("What did core ship?");

    const read = await omni(["resources", "read", "fixture://info"], { env: as(ownerKey) });
    expect(read.stdout.trim()).toBe("fixture info");
    const resources = await omni(["resources", "list", "--json"], { env: as(ownerKey) });
    expect(JSON.parse(resources.stdout)).toContainEqual(expect.objectContaining({ uri: "fixture://info" }));
  });

  test("keys create / list / revoke: the new key works until revoked, then it is refused", async () => {
    const created = await omni(["keys", "create", "--name", "ci", "--json"], { env: as(ownerKey) });
    expect(created.code).toBe(0);
    const { key, secret } = JSON.parse(created.stdout) as {
      key: { id: string; scopes: string[] };
      secret: string;
    };
    expect(key.scopes).toEqual(["tools:call", "prompts:read", "resources:read"]);

    const client = await mcpClient(secret);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();

    // A member-scoped key cannot manage keys.
    const refused = await omni(["keys", "list"], { env: as(secret) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("keys:read");

    const list = await omni(["keys", "list", "--json"], { env: as(ownerKey) });
    expect((JSON.parse(list.stdout) as { id: string }[]).map((k) => k.id)).toContain(key.id);

    const revoked = await omni(["keys", "revoke", key.id], { env: as(ownerKey) });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("revoked ci");

    const after = new Client({ name: "cli-test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${secret}` } },
    });
    expect(after.connect(transport)).rejects.toThrow(/401|revoked/i);

    const tools = await omni(["tools"], { env: as(secret) });
    expect(tools.code).toBe(1);
    expect(tools.stderr).toContain("refused the credentials");
  });

  test("sessions list shows a live MCP session; sessions end ends it for the client", async () => {
    const client = await mcpClient(ownerKey);
    const transport = client.transport as StreamableHTTPClientTransport;
    // Sessions are named by their short sid (`s1.<sid>.<sealed>`): the sealed id stays with the client.
    const id = transport.sessionId?.split(".")[1] ?? "";
    expect(id).not.toBe("");
    const list = await omni(["sessions", "list", "--json"], { env: as(ownerKey) });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ id, clientName: "cli-test" }));
    const table = await omni(["sessions", "list"], { env: as(ownerKey) });
    expect(table.stdout).toContain(id);

    const ended = await omni(["sessions", "end", id], { env: as(ownerKey) });
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toContain(`ended session ${id}`);
    expect(client.listTools()).rejects.toThrow(/404|session/i);
    await client.close().catch(() => {});

    const missing = await omni(["sessions", "end", id], { env: as(ownerKey) });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("omni sessions list");
  });

  test("members, audit list and verify", async () => {
    const members = await omni(["members", "list", "--json"], { env: as(ownerKey) });
    expect(JSON.parse(members.stdout)).toEqual([
      expect.objectContaining({ email: "ops@acme.test", role: "owner" }),
    ]);
    const lastOwner = await omni(["members", "set-role", "ops@acme.test", "member"], { env: as(ownerKey) });
    expect(lastOwner.code).toBe(1);
    expect(lastOwner.stderr).toContain("owner");

    const audit = await omni(["audit", "list", "--json"], { env: as(ownerKey) });
    const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((e) => e.action);
    expect(actions).toContain("api_key.create");
    expect(actions).toContain("api_key.revoke");
    // `omni orgs create` (straight in the database) started the chain, as the admin API would have.
    const entries = JSON.parse(audit.stdout) as { action: string; seq: number; targetType: string | null }[];
    const first = entries.find((e) => e.seq === 1);
    expect(first).toMatchObject({ action: "organization.create", targetType: "organization" });
    expect(entries.find((e) => e.seq === 2)).toMatchObject({
      action: "api_key.create",
      targetType: "api_key",
    });
    const verify = await omni(["audit", "verify"], { env: as(ownerKey) });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain("intact");
  });

  test("secrets come from stdin, never from an argument", async () => {
    const set = await omni(["services", "set-secret", "fixture", "apiKey"], {
      env: as(ownerKey),
      stdin: "s3cret\n",
    });
    expect(set.code).toBe(0);
    const list = await omni(["services", "list", "--json"], { env: as(ownerKey) });
    const fixtureRow = (JSON.parse(list.stdout) as { name: string; secrets: Record<string, unknown> }[]).find(
      (s) => s.name === "fixture",
    );
    expect(Object.keys(fixtureRow?.secrets ?? {})).toEqual(["apiKey"]);
    expect(list.stdout).not.toContain("s3cret");
    const extra = await omni(["services", "set-secret", "fixture", "apiKey", "s3cret"], {
      env: as(ownerKey),
    });
    expect(extra.code).toBe(2);
  });
});

describe("errors", () => {
  test("bad arguments print the usage and exit 2", async () => {
    for (const args of [
      ["keys", "create"],
      ["keys", "create", "--name", "x", "--scopes", "tools:fly"],
      ["call", "x", "--arg", "novalue"],
      ["client-config", "notepad"],
      ["orgs"],
      ["nonsense"],
    ]) {
      const result = await omni(args, { env: as(ownerKey) });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain("Usage: omni");
    }
  });

  test("an unreachable gateway and a missing key say what to do", async () => {
    const down = await omni(["keys", "list"], {
      env: { OMNI_URL: "http://127.0.0.1:9", OMNI_API_KEY: ownerKey },
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach the gateway");
    expect(down.stderr).toContain("bun run dev");

    const anonymous = await omni(["keys", "list"], { env: { OMNI_URL: gateway.url } });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain("OMNI_API_KEY");
  });

  test("--help of every command has examples", async () => {
    const commands = [
      [],
      ...["orgs", "keys", "members", "services", "prompts", "audit", "db", "resources"].map((c) => [c]),
      ...[
        "orgs create",
        "orgs list",
        "keys create",
        "keys list",
        "keys revoke",
        "members list",
        "members set-role",
        "services list",
        "services enable",
        "services disable",
        "services set-secret",
        "prompts list",
        "prompts get",
        "prompts set",
        "audit list",
        "audit verify",
        "db migrate",
        "db seed",
        "db status",
        "resources list",
        "resources read",
        "client-config",
        "connect",
        "tools",
        "call",
        "new-server",
        "doctor",
      ].map((c) => c.split(" ")),
    ];
    const results = await Promise.all(commands.map((args) => omni([...args, "--help"])));
    results.forEach((help, i) => {
      const name = commands[i]?.join(" ") ?? "";
      expect(help.code, name).toBe(0);
      expect(help.stdout, name).toContain("Examples:\n  $ omni");
    });
  });
});
