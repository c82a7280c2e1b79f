import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerInstanceStatus } from "@omni/contracts";
import type { RunningServer } from "@omni/kit";
import { emptyDatabase, type GatewayProcess, omni, serveFixture, startGateway } from "./fixtures/harness.ts";

/**
 * `omni servers instances list|add|drain|undrain|remove` with the real binary against a real gateway
 * process (not dev mode) on Postgres with two instances of a kit test server: one from SERVERS, one added,
 * drained, put back and removed through the operator API with the operator token. Without it, with a
 * wrong one or with an organization owner's API key the commands fail saying what to do; bad arguments
 * are usage errors; on a development gateway the token is read from its data directory.
 */

setDefaultTimeout(60_000);

const TOKEN = `cli-operator-${crypto.randomUUID()}`;

let database: Awaited<ReturnType<typeof emptyDatabase>>;
let first: RunningServer;
let second: RunningServer;
let gateway: GatewayProcess;
/** A data directory with no development operator token (so nothing is found by accident). */
const emptyDataDir = mkdtempSync(join(tmpdir(), "omni-cli-nodata-"));

const operator = (extra: Record<string, string> = {}) => ({
  OMNI_URL: gateway.url,
  OMNI_OPERATOR_TOKEN: TOKEN,
  OMNI_DATA_DIR: emptyDataDir,
  ...extra,
});
const json = <T>(stdout: string) => JSON.parse(stdout) as T;

beforeAll(async () => {
  database = await emptyDatabase();
  first = serveFixture();
  second = serveFixture();
  gateway = await startGateway({
    databaseUrl: database.url,
    servers: `fixture=${first.url}`,
    env: { OMNI_OPERATOR_TOKEN: TOKEN },
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await first?.stop();
  await second?.stop();
  await database?.drop();
  rmSync(emptyDataDir, { recursive: true, force: true });
});

describe("omni servers instances", () => {
  test("--help lists the commands with examples", async () => {
    const help = await omni(["servers", "instances", "--help"]);
    expect(help.code).toBe(0);
    for (const word of ["list", "add", "drain", "undrain", "remove", "OMNI_OPERATOR_TOKEN", "Examples:"])
      expect(help.stdout).toContain(word);
    const add = await omni(["servers", "instances", "add", "--help"]);
    expect(add.stdout).toContain("omni servers instances add linear http://10.0.0.7:3001");
  });

  test("without the operator token, with a wrong one, with an org owner's key: exit 1 and what to do", async () => {
    const none = await omni(["servers", "instances", "list"], {
      env: { OMNI_URL: gateway.url, OMNI_DATA_DIR: emptyDataDir },
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no operator token");
    expect(none.stderr).toContain("set OMNI_OPERATOR_TOKEN");

    const wrong = await omni(["servers", "instances", "list"], {
      env: operator({ OMNI_OPERATOR_TOKEN: `${TOKEN}x` }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not the deployment's operator token");
    expect(wrong.stderr).toContain("not an API key");

    const org = await omni(["orgs", "create", "Acme", "--json"], { env: { DATABASE_URL: database.url } });
    expect(org.code, org.stderr).toBe(0);
    const ownerKey = json<{ secret: string }>(org.stdout).secret;
    for (const args of [["list"], ["add", "fixture", second.url], ["drain", "ins_0"], ["remove", "ins_0"]]) {
      const refused = await omni(["servers", "instances", ...args, "--token", ownerKey], { env: operator() });
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr).toContain("an organization's credentials (even an owner's) cannot change them");
      expect(refused.stderr).toContain("org API keys cannot change instances");
    }
  });

  test("list --json: the SERVERS instance, healthy on the answering replica", async () => {
    const listed = await omni(["servers", "instances", "list", "--json"], { env: operator() });
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<ServerInstanceStatus[]>(listed.stdout)).toEqual([
      expect.objectContaining({
        id: null,
        server: "fixture",
        url: first.url,
        source: "env",
        live: expect.objectContaining({ healthy: true, draining: false }),
      }),
    ]);
    const table = await omni(["servers", "instances", "list"], { env: operator() });
    expect(table.stdout).toMatch(/ID\s+SERVER\s+URL\s+SOURCE\s+STATE/);
    expect(table.stdout).toMatch(/fixture\s+\S+\s+env\s+healthy/);
  });

  test("add: bad arguments are usage errors (exit 2); an unknown server or a taken url exit 1 naming it", async () => {
    for (const [server, url, message] of [
      ["fixture", "http://user:pw@127.0.0.1:1", "url: must not carry credentials"],
      ["fixture", "ftp://127.0.0.1:1", "url: must be an http(s) URL"],
      ["fixture", "http://127.0.0.1:1/?a=1", "url: must be a base URL"],
      ["Fixture!", "http://127.0.0.1:1", "server: must be a server name"],
    ] as const) {
      const bad = await omni(["servers", "instances", "add", server, url], { env: operator() });
      expect(bad.code, url).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    const unknown = await omni(["servers", "instances", "add", "nosuch", second.url], { env: operator() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No such server in the catalogue (it has: fixture)");
    const taken = await omni(["servers", "instances", "add", "fixture", first.url], { env: operator() });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("SERVERS");
  });

  test("add, drain (by url), undrain (by id), remove: each shows in list; unknown ids exit 1", async () => {
    const added = await omni(["servers", "instances", "add", "fixture", second.url, "--json"], {
      env: operator(),
    });
    expect(added.code, added.stderr).toBe(0);
    const row = json<ServerInstanceStatus>(added.stdout);
    expect(row).toMatchObject({
      server: "fixture",
      url: second.url,
      source: "table",
      live: { healthy: true },
    });
    const id = row.id ?? "";
    expect(id).toMatch(/^ins_/);
    const plain = await omni(["servers", "instances", "add", "fixture", second.url], { env: operator() });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("already has an instance at this URL");

    const drained = await omni(["servers", "instances", "drain", `${second.url}/`], { env: operator() });
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain(`draining ${id}`);
    const listed = json<ServerInstanceStatus[]>(
      (await omni(["servers", "instances", "list", "--json"], { env: operator() })).stdout,
    );
    expect(listed.find((i) => i.id === id)).toMatchObject({ draining: true, live: { draining: true } });

    const back = await omni(["servers", "instances", "undrain", id, "--json"], { env: operator() });
    expect(back.code, back.stderr).toBe(0);
    expect(json<ServerInstanceStatus>(back.stdout)).toMatchObject({ id, draining: false });

    const removed = await omni(["servers", "instances", "remove", id], { env: operator() });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removed ${id}`);
    const after = json<ServerInstanceStatus[]>(
      (await omni(["servers", "instances", "list", "--json"], { env: operator() })).stdout,
    );
    expect(after.some((i) => i.id === id)).toBe(false);

    for (const verb of ["drain", "undrain", "remove"]) {
      const unknown = await omni(["servers", "instances", verb, id], { env: operator() });
      expect(unknown.code, verb).toBe(1);
      expect(unknown.stderr).toContain("No server instance with this id");
      expect(unknown.stderr).toContain("omni servers instances list");
    }
    const env = await omni(["servers", "instances", "drain", first.url], { env: operator() });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain("comes from the gateway's SERVERS");
  });

  test("an instance that does not answer is added with a warning, listed as down, removed by its url", async () => {
    // Port 9 on loopback: nothing listens there, connections are refused.
    const silent = "http://127.0.0.1:9";
    const added = await omni(["servers", "instances", "add", "fixture", silent], { env: operator() });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("(down on this replica)");
    expect(added.stderr).toContain("does not answer health checks yet");
    const table = await omni(["servers", "instances", "list"], { env: operator() });
    expect(table.stdout).toMatch(/fixture\s+http:\/\/127\.0\.0\.1:9\s+table\s+down/);
    const removed = await omni(["servers", "instances", "remove", silent], { env: operator() });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain("removed ins_");
  });

  test("audit deployment list|verify: the changes above, newest first, with the operator token only", async () => {
    const listed = await omni(["audit", "deployment", "list", "--json"], { env: operator() });
    expect(listed.code, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as { action: string; actor: string }[];
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expect(entries[0]?.action).toBe("server_instance.delete"); // the silent instance, removed last
    expect(entries.map((e) => e.action)).toContain("server_instance.drain");
    expect(new Set(entries.map((e) => e.actor))).toEqual(new Set(["operator"]));
    const drains = await omni(["audit", "deployment", "list", "--action", "server_instance.undrain"], {
      env: operator(),
    });
    expect(drains.code, drains.stderr).toBe(0);
    expect(drains.stdout).toContain("server_instance.undrain");
    expect(drains.stdout).not.toContain("server_instance.create");
    const bad = await omni(["audit", "deployment", "list", "--limit", "0"], { env: operator() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--limit must be a whole number from 1 to 1000");
    const verified = await omni(["audit", "deployment", "verify"], { env: operator() });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain("deployment audit chain intact");
    const wrong = await omni(["audit", "deployment", "verify"], {
      env: operator({ OMNI_OPERATOR_TOKEN: `${TOKEN}x` }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("operator token");
  });

  test("a development gateway's token is read from its data directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "omni-cli-devtoken-"));
    const dev = await startGateway({
      databaseUrl: database.url,
      servers: `fixture=${first.url}`,
      env: { OMNI_DATA_DIR: dataDir },
    });
    try {
      expect(existsSync(join(dataDir, "operator.token"))).toBe(true);
      const listed = await omni(["servers", "instances", "list", "--json"], {
        env: { OMNI_URL: dev.url, OMNI_DATA_DIR: dataDir },
      });
      expect(listed.code, listed.stderr).toBe(0);
      expect(json<ServerInstanceStatus[]>(listed.stdout).map((i) => i.url)).toEqual([first.url]);
    } finally {
      await dev.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
