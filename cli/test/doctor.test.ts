import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, emptyDatabase, freePorts, omni, repoRoot } from "./fixtures/harness.ts";

/** `omni doctor` names each failure with its fix; `omni` installs as a bin with `bun link`. */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

let database: Awaited<ReturnType<typeof emptyDatabase>>;
beforeAll(async () => {
  database = await emptyDatabase();
}, 30_000);
afterAll(() => database?.drop());

interface Report {
  ok: boolean;
  checks: { name: string; outcome: string; detail: string; fix?: string }[];
}

/** Free ports (not a dev stack's), so the port checks are about these. */
const [gateway, linear, perplexity, devtools] = freePorts(4);

async function doctor(env: Record<string, string>): Promise<{ code: number; report: Report }> {
  const ports = {
    PORT: String(gateway),
    LINEAR_PORT: String(linear),
    PERPLEXITY_PORT: String(perplexity),
    DEVTOOLS_PORT: String(devtools),
  };
  const result = await omni(["doctor", "--json"], {
    // No deployment key unless the test gives one (the harness sets one for the other suites).
    env: { ...ports, OMNI_URL: `http://127.0.0.1:${gateway}`, OMNI_SECRET_KEY: undefined, ...env },
  });
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
}

const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describe("omni doctor", () => {
  test("pending migrations, an unreachable Redis and a missing production key fail, each with its fix", async () => {
    const { code, report } = await doctor({
      DATABASE_URL: database.url,
      REDIS_URL: "redis://127.0.0.1:9",
      NODE_ENV: "production",
      OMNI_DEV_MODE: "1",
    });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check(report, "bun")?.outcome).toBe("ok");
    expect(check(report, "database")?.outcome).toBe("ok");
    expect(check(report, "migrations")).toMatchObject({
      outcome: "fail",
      fix: expect.stringContaining("omni db migrate"),
    });
    expect(check(report, "redis")).toMatchObject({
      outcome: "fail",
      fix: expect.stringContaining("REDIS_URL"),
    });
    expect(check(report, "OMNI_SECRET_KEY")).toMatchObject({
      outcome: "fail",
      fix: expect.stringContaining("openssl"),
    });
    expect(check(report, "OMNI_DEV_MODE")?.outcome).toBe("fail");
    expect(check(report, `port ${gateway}`)?.outcome).toBe("ok");
  });

  test("a migrated (and seeded) database with a production key passes", async () => {
    expect((await omni(["db", "migrate"], { env: { DATABASE_URL: database.url } })).code).toBe(0);
    const seeded = await omni(["db", "seed"], { env: { DATABASE_URL: database.url } });
    expect(seeded.stdout).toMatch(/seeded the demo organization/);
    const { code, report } = await doctor({
      DATABASE_URL: database.url,
      NODE_ENV: "production",
      OMNI_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
      CHROME_PATH: process.env.CHROME_PATH ?? "/usr/bin/chromium",
    });
    expect(report.checks.filter((c) => c.outcome === "fail")).toEqual([]);
    expect(code).toBe(0);
    expect(check(report, "migrations")?.outcome).toBe("ok");
  });

  test("an unreachable database says how to fix it, in plain text too", async () => {
    const result = await omni(["doctor"], { env: { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" } });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("cannot reach the database");
    expect(result.stdout).toContain("fix:");
    expect(result.stdout).not.toContain("\x1b["); // no colours off a terminal
  });
});

describe("installing", () => {
  test("`bun link` in cli/ puts a working omni on the PATH", () => {
    const bunInstall = mkdtempSync(join(tmpdir(), "omni-cli-link-"));
    try {
      const env = { ...cleanEnv(), BUN_INSTALL: bunInstall };
      expect(Bun.spawnSync(["bun", "link"], { cwd: join(repoRoot, "cli"), env }).exitCode).toBe(0);
      const version = Bun.spawnSync([join(bunInstall, "bin", "omni"), "--version"], { env });
      expect(version.exitCode).toBe(0);
      expect(version.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      rmSync(bunInstall, { recursive: true, force: true });
    }
  });
});
