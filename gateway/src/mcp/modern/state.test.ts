import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "@omni/contracts";
import { RpcError } from "../protocol.ts";
import { canonicalJson, deploymentKey, StateSealer, stateKeyFromEnv } from "./state.ts";

const key = stateKeyFromEnv({ OMNI_STATE_KEY: "11".repeat(32) });
const binding = {
  orgId: "org_a",
  userId: "user_1",
  target: "tools/call:echo",
  arguments: { b: 1, a: [1, { y: 2, x: 1 }] },
};

function openError(fn: () => unknown): RpcError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error("expected the state to be rejected");
}

describe("deploymentKey", () => {
  test("without keys in env, processes sharing the development key file share the key, quietly", () => {
    const dir = mkdtempSync(join(tmpdir(), "omni-state-"));
    try {
      writeFileSync(join(dir, "secret.key"), `${Buffer.alloc(32, 7).toString("base64")}\n`);
      const warnings: string[] = [];
      const logger = { warn: (m: string) => warnings.push(m) };
      const a = new StateSealer(deploymentKey({ OMNI_DATA_DIR: dir }, logger));
      const b = new StateSealer(deploymentKey({ OMNI_DATA_DIR: dir }, logger));
      expect(b.open(a.seal(binding, { "elicit:0": { ok: true } }), binding)).toEqual({
        "elicit:0": { ok: true },
      });
      expect(warnings).toEqual([]);
      deploymentKey({ OMNI_DATA_DIR: join(dir, "missing") }, logger);
      expect(warnings).toEqual([expect.stringContaining("per-process key")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("StateSealer", () => {
  test("round-trips the answers; arguments match whatever their key order; nothing in clear", () => {
    const sealer = new StateSealer(key);
    const token = sealer.seal(binding, { "elicit:0": { action: "accept", content: { secret: "s3cr3t" } } });
    expect(token.startsWith("v1.")).toBe(true);
    expect(Buffer.from(token.slice(3), "base64url").toString("latin1")).not.toContain("s3cr3t");
    expect(Buffer.from(token.slice(3), "base64url").toString("latin1")).not.toContain("org_a");
    const reordered = { ...binding, arguments: { a: [1, { x: 1, y: 2 }], b: 1 } };
    expect(sealer.open(token, reordered)).toEqual({
      "elicit:0": { action: "accept", content: { secret: "s3cr3t" } },
    });
    expect(sealer.seal(binding, {})).not.toBe(sealer.seal(binding, {}));
  });

  test("another replica with the same key opens it; another key does not", () => {
    const token = new StateSealer(key).seal(binding, { k: 1 });
    expect(
      new StateSealer(stateKeyFromEnv({ OMNI_STATE_KEY: "11".repeat(32) })).open(token, binding),
    ).toEqual({ k: 1 });
    const foreign = openError(() =>
      new StateSealer(stateKeyFromEnv({ OMNI_SECRET_KEY: "x" })).open(token, binding),
    );
    expect(foreign.code).toBe(ErrorCode.InvalidParams);
    expect(foreign.message).toContain("integrity");
  });

  test("tampered, foreign-org, other-tool, other-arguments and expired states are -32602", () => {
    let now = 1_000;
    const sealer = new StateSealer(key, 60_000, () => now);
    const token = sealer.seal(binding, {});
    // Flip the second-to-last character (checking that one, not the last: else 1 run in 64 flipped nothing).
    const flipped = `${token.slice(0, -2)}${token.at(-2) === "A" ? "B" : "A"}${token.slice(-1)}`;
    for (const [bad, bind, needle] of [
      [`${token}-TAMPERED`, binding, "integrity"],
      [flipped, binding, "integrity"],
      ["v2.abc", binding, "not a requestState"],
      [token, { ...binding, orgId: "org_b" }, "another organization"],
      [token, { ...binding, target: "tools/call:other" }, "issued for tools/call:echo"],
      [token, { ...binding, arguments: { b: 2 } }, "different arguments"],
    ] as const) {
      const error = openError(() => sealer.open(bad, bind));
      expect(error.code).toBe(ErrorCode.InvalidParams);
      expect(error.message).toContain(needle);
    }
    expect(openError(() => sealer.open(42, binding)).message).toContain("must be a string");
    now += 60_001;
    expect(openError(() => sealer.open(token, binding)).message).toContain("expired");
  });

  test("key from env: hex or base64 of 32 bytes, else HKDF of OMNI_SECRET_KEY; clear errors otherwise", () => {
    expect(stateKeyFromEnv({ OMNI_STATE_KEY: Buffer.alloc(32, 7).toString("base64") })).toEqual(
      Buffer.alloc(32, 7),
    );
    expect(stateKeyFromEnv({ OMNI_SECRET_KEY: "a" })).toHaveLength(32);
    expect(stateKeyFromEnv({ OMNI_SECRET_KEY: "a" })).not.toEqual(stateKeyFromEnv({ OMNI_SECRET_KEY: "b" }));
    expect(() => stateKeyFromEnv({ OMNI_STATE_KEY: "short" })).toThrow("32 bytes");
    expect(() => stateKeyFromEnv({})).toThrow("OMNI_STATE_KEY");
  });

  test("canonicalJson sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, 1] } })).toBe('{"a":{"c":[2,1]},"b":1}');
  });
});
