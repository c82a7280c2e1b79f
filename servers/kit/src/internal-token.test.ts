import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { internalTokenChecker, loadDeploymentToken, loadInternalToken } from "./internal-token.ts";

const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "omni-token-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("loadInternalToken", () => {
  test("OMNI_INTERNAL_TOKEN wins and must be long enough", () => {
    const dataDir = scratch();
    expect(loadInternalToken({ OMNI_INTERNAL_TOKEN: " a-long-enough-token " }, { dataDir })).toBe(
      "a-long-enough-token",
    );
    expect(() => loadInternalToken({ OMNI_INTERNAL_TOKEN: "short" }, { dataDir })).toThrow(
      "OMNI_INTERNAL_TOKEN must be at least 16 characters",
    );
  });

  test("in production a missing token is an error that says what to set", () => {
    expect(() => loadInternalToken({ NODE_ENV: "production" }, { dataDir: scratch() })).toThrow(
      /OMNI_INTERNAL_TOKEN is required in production: set the same random value .* on the gateway and on every domain server/,
    );
  });

  test("in development one token is generated into the data dir (0600) and read by every later caller", () => {
    const dataDir = scratch();
    const first = loadInternalToken({}, { dataDir });
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(dataDir, "internal.token")).mode & 0o777).toBe(0o600);
    expect(loadInternalToken({}, { dataDir })).toBe(first);
    expect(loadInternalToken({ OMNI_DATA_DIR: dataDir })).toBe(first);
    expect(loadInternalToken({}, { dataDir: scratch() })).not.toBe(first);
  });
});

describe("loadDeploymentToken (an optional token, e.g. the gateway's operator token)", () => {
  const spec = { variable: "OMNI_OPERATOR_TOKEN", file: "operator.token", requiredInProduction: null };

  test("in production an optional token left unset is null (its feature is off), a short one an error", () => {
    expect(loadDeploymentToken(spec, { NODE_ENV: "production" }, { dataDir: scratch() })).toBeNull();
    expect(() => loadDeploymentToken(spec, { OMNI_OPERATOR_TOKEN: "short" }, { dataDir: scratch() })).toThrow(
      "OMNI_OPERATOR_TOKEN must be at least 16 characters",
    );
  });

  test("create: false only reads the development file: null before a gateway made it, the same token after", () => {
    const dataDir = scratch();
    expect(loadDeploymentToken(spec, {}, { dataDir, create: false })).toBeNull();
    expect(existsSync(join(dataDir, "operator.token"))).toBe(false);
    const made = loadDeploymentToken(spec, {}, { dataDir });
    expect(made).not.toBeNull();
    expect(loadDeploymentToken(spec, {}, { dataDir, create: false })).toBe(made);
    // A file of its own: not the internal token's.
    expect(loadInternalToken({}, { dataDir })).not.toBe(made);
  });
});

test("the checker accepts exactly `Bearer <token>`", () => {
  const check = internalTokenChecker("s3cret-deployment-token");
  expect(check("Bearer s3cret-deployment-token")).toBe(true);
  for (const wrong of [null, "", "Bearer", "Bearer s3cret-deployment-toke", "s3cret-deployment-token"]) {
    expect(check(wrong)).toBe(false);
  }
});

test("a server started in production without OMNI_INTERNAL_TOKEN exits saying what to set", async () => {
  const kit = new URL("./index.ts", import.meta.url).pathname;
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: "production", PORT: "0" };
  delete env.OMNI_INTERNAL_TOKEN;
  const proc = Bun.spawn(
    [
      process.execPath,
      "-e",
      `import { serve } from ${JSON.stringify(kit)}; serve({ name: "prod-test", version: "1.0.0", tools: [] });`,
    ],
    { env, stdout: "pipe", stderr: "pipe" },
  );
  expect(await proc.exited).toBe(1);
  const stderr = await new Response(proc.stderr).text();
  expect(stderr).toContain("prod-test: OMNI_INTERNAL_TOKEN is required in production");
  expect(stderr).not.toContain("    at ");
});
