import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  addToCatalogue,
  cleanEnv,
  emptyDatabase,
  type GatewayProcess,
  omni,
  repoRoot,
  startGateway,
} from "./fixtures/harness.ts";

/**
 * `omni new-server` in a temporary clone of this checkout (with its uncommitted changes): the scaffold
 * passes its own test and the repository's formatter, and once served and listed in SERVERS, its tool
 * is callable through a real gateway by an organization that enabled it.
 */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

let clone: string;
let root: string;
let database: Awaited<ReturnType<typeof emptyDatabase>>;
let server: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
let gateway: GatewayProcess | undefined;

function run(cmd: string[], cwd: string) {
  const result = Bun.spawnSync(cmd, { cwd, env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

beforeAll(async () => {
  clone = mkdtempSync(join(tmpdir(), "omni-cli-clone-"));
  root = join(clone, "repo");
  expect(run(["git", "clone", "--quiet", "--no-hardlinks", repoRoot, root], clone).code).toBe(0);
  // The working tree as it is (uncommitted edits and new files), not only the last commit.
  const changed = run(["git", "ls-files", "--modified", "--others", "--exclude-standard"], repoRoot).stdout;
  for (const path of changed.split("\n").filter(Boolean)) {
    const from = join(repoRoot, path);
    const to = join(root, path);
    if (existsSync(from)) {
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(from, to);
    } else rmSync(to, { force: true });
  }
  const install = run(["bun", "install", "--frozen-lockfile"], root);
  expect(install.code, install.stderr).toBe(0);
  database = await emptyDatabase();
}, 180_000);

afterAll(async () => {
  await gateway?.stop();
  server?.kill();
  await server?.exited;
  await database?.drop();
  rmSync(clone, { recursive: true, force: true });
});

describe("omni new-server", () => {
  test("scaffolds servers/<name>; a bad or taken name is refused", async () => {
    const bad = await omni(["new-server", "Bad_Name"], { root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Usage: omni new-server");

    const made = await omni(["new-server", "greeter"], { root });
    expect(made.code, made.stderr).toBe(0);
    for (const file of [
      "package.json",
      "src/server.ts",
      "src/index.ts",
      "src/stdio.ts",
      "test/server.test.ts",
    ])
      expect(existsSync(join(root, "servers/greeter", file))).toBe(true);
    expect(existsSync(join(root, "servers/greeter/node_modules/@omni/kit"))).toBe(true);

    const again = await omni(["new-server", "greeter"], { root });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
  }, 120_000);

  test("the generated server passes its own test and the repository's lint and format check", () => {
    const tested = run(["bun", "test"], join(root, "servers/greeter"));
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stderr).toMatch(/4 pass/);
    const lint = run([join(root, "node_modules/.bin/biome"), "check", "servers/greeter"], root);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  }, 60_000);

  test("once served and listed in SERVERS, its tool is callable through the gateway", async () => {
    const proc = Bun.spawn(["bun", "servers/greeter/src/index.ts"], {
      cwd: root,
      env: { ...cleanEnv(), PORT: "0" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    server = proc;
    const reader = proc.stdout.getReader();
    let banner = "";
    while (!/listening on (http:\/\/[\d.]+:\d+)/.test(banner)) {
      const next = await reader.read();
      if (next.done) throw new Error(`greeter exited: ${banner}`);
      banner += new TextDecoder().decode(next.value);
    }
    reader.releaseLock();
    const serverUrl = /listening on (http:\/\/[\d.]+:\d+)/.exec(banner)?.[1] ?? "";

    const env = { DATABASE_URL: database.url };
    expect((await omni(["db", "migrate"], { root, env })).code).toBe(0);
    const created = await omni(["orgs", "create", "Makers", "--json"], { root, env });
    const key = (JSON.parse(created.stdout) as { secret: string }).secret;
    await addToCatalogue(database.url, "greeter", "Greeter");
    gateway = await startGateway({ databaseUrl: database.url, servers: `greeter=${serverUrl}`, root });
    const enabled = await omni(["services", "enable", "greeter"], {
      root,
      env: { OMNI_URL: gateway.url, OMNI_API_KEY: key },
    });
    expect(enabled.code, enabled.stderr).toBe(0);

    const client = new Client({ name: "new-server-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    const result = await client.callTool({ name: "greeter_greet_person", arguments: { name: "Ada" } });
    expect(result.structuredContent).toMatchObject({ greeting: "Hello, Ada." });
    const prompt = await client.getPrompt({ name: "greeter_welcome", arguments: { who: "Ada" } });
    expect(JSON.stringify(prompt.messages)).toContain("welcome message for Ada");
    await client.close();
  }, 120_000);
});
