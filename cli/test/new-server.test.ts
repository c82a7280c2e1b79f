import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cleanEnv, emptyDatabase, freePorts, omni, repoRoot } from "./fixtures/harness.ts";

/** The dev stack's ports: free ones, below the ephemeral range (`freePorts`). */
const [gatewayPort, linearPort, perplexityPort, devtoolsPort, greeterPort] = freePorts(5);

/**
 * `omni new-server` in a temporary clone of this checkout (with its uncommitted changes): the scaffold
 * passes its own test and the repository's formatter, and with nothing else edited, `bun run dev`
 * restarted in the clone serves it and its tool is callable through the real gateway.
 */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

let clone: string;
let root: string;
let database: Awaited<ReturnType<typeof emptyDatabase>>;
let dev: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
/** Everything `bun run dev` wrote (stdout and stderr), and its gateway's URL. */
let devLog = "";
let gatewayUrl = "";

/** Paths `git status` reports in the clone (the worktree's uncommitted edits are the baseline). */
const changedPaths = () =>
  run(["git", "status", "--porcelain", "--untracked-files=all"], root)
    .stdout.split("\n")
    .filter(Boolean)
    .map((line) => line.slice(3));
let baseline: string[] = [];

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
  baseline = changedPaths();
  database = await emptyDatabase();
}, 180_000);

afterAll(async () => {
  dev?.kill("SIGTERM");
  await dev?.exited;
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

  test("after a restart of `bun run dev` its tool is callable through the gateway, nothing else edited", async () => {
    // Nothing but the scaffold changed in the clone: no SERVERS entry, no catalogue row, no compose edit
    // by hand (new-server regenerated compose.yaml).
    const touched = changedPaths().filter((p) => !baseline.includes(p));
    // bun.lock: `bun install` (run by new-server) records the new workspace package.
    const generated = new Set(["compose.yaml", "bun.lock"]);
    expect(touched.filter((p) => !p.startsWith("servers/greeter") && !generated.has(p))).toEqual([]);
    expect(run(["git", "diff", "--", "compose.yaml"], root).stdout).toContain("servers/greeter/src/index.ts");

    const env = { DATABASE_URL: database.url };
    expect((await omni(["db", "migrate"], { root, env })).code).toBe(0);
    const created = await omni(["orgs", "create", "Makers", "--json"], { root, env });
    const key = (JSON.parse(created.stdout) as { secret: string }).secret;

    // `bun run dev` as a user restarts it: every server folder (greeter included) and the gateway, on
    // free ports (<NAME>_PORT), on the test's Postgres, credentials required.
    const ports = {
      PORT: String(gatewayPort),
      LINEAR_PORT: String(linearPort),
      PERPLEXITY_PORT: String(perplexityPort),
      DEVTOOLS_PORT: String(devtoolsPort),
    };
    const proc = Bun.spawn(["bun", "scripts/dev.ts"], {
      cwd: root,
      env: {
        ...cleanEnv(),
        ...ports,
        GREETER_PORT: String(greeterPort),
        DATABASE_URL: database.url,
        OMNI_DEV_MODE: "0",
        ADMIN_BUILD: "0",
        OMNI_DATA_DIR: join(clone, "data"),
        OMNI_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
        HEALTH_INTERVAL_MS: "200",
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    dev = proc;
    // Both streams into one log, read to the end (a full pipe would block the children).
    for (const stream of [proc.stdout, proc.stderr]) {
      void (async () => {
        const decoder = new TextDecoder();
        const reader = stream.getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read())
          devLog += decoder.decode(next.value, { stream: true });
      })();
    }
    const gatewayLine = /omni gateway \S+ listening on (http:\/\/[\d.]+:\d+)/;
    const greeterLine = new RegExp(
      `greeter\\s*│\\S* greeter 0\\.1\\.0 listening on http://127\\.0\\.0\\.1:${greeterPort}`,
    );
    while (!gatewayLine.test(devLog) || !greeterLine.test(devLog)) {
      if (proc.exitCode !== null) throw new Error(`bun run dev exited: ${devLog}`);
      await Bun.sleep(50);
    }
    const log = devLog;
    gatewayUrl = gatewayLine.exec(log)?.[1] ?? "";
    expect(log).toMatch(greeterLine);

    // The org predates the server: it turns it on (new organizations get it by default).
    const enabled = await omni(["services", "enable", "greeter"], {
      root,
      env: { OMNI_URL: gatewayUrl, OMNI_API_KEY: key },
    });
    expect(enabled.code, enabled.stderr).toBe(0);

    const client = new Client({ name: "new-server-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    const result = await client.callTool({ name: "greeter_greet_person", arguments: { name: "Ada" } });
    expect(result.structuredContent).toMatchObject({ greeting: "Hello, Ada." });
    // Its default prompt came from its definition into the catalogue.
    const prompt = await client.getPrompt({ name: "greeter_welcome_person", arguments: { who: "Ada" } });
    expect(JSON.stringify(prompt.messages)).toContain("welcome message for Ada");
    await client.close();
    const listed = await omni(["services", "list", "--json"], {
      root,
      env: { OMNI_URL: gatewayUrl, OMNI_API_KEY: key },
    });
    expect(listed.stdout).toContain("Greeter");
  }, 180_000);

  test("SIGTERM stops the gateway first (drained and exited), then the servers; no WARN line, nothing left", async () => {
    const proc = dev;
    if (!proc) throw new Error("bun run dev is not running (the previous test failed)");
    const from = devLog.length;
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    dev = undefined;
    const shutdown = devLog.slice(from);
    const drained = shutdown.indexOf("gateway: drained, stopping");
    expect(drained, shutdown).toBeGreaterThanOrEqual(0);
    for (const server of ["linear", "perplexity", "devtools", "greeter"]) {
      const stopped = shutdown.indexOf(`${server}: SIGTERM received, shutting down`);
      expect(stopped, `${server}\n${shutdown}`).toBeGreaterThan(drained);
    }
    // Pretty (WARN) or JSON ("level":"warn") log lines: this gateway is not in development mode.
    const warnings = shutdown
      .split("\n")
      .filter((line) => /\b(WARN|ERROR)\b|"level":"(warn|error)"/.test(line));
    expect(warnings).toEqual([]);
    // Every child is gone: the gateway and the servers' ports refuse connections.
    for (const url of [gatewayUrl, `http://127.0.0.1:${linearPort}`, `http://127.0.0.1:${greeterPort}`]) {
      expect(
        await fetch(`${url}/health`).then(
          () => "answered",
          () => "refused",
        ),
      ).toBe("refused");
    }
  }, 60_000);
});
