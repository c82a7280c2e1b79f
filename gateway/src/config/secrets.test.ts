import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadSecretKeys,
  parseSecretKey,
  readDevSecretKey,
  SecretBox,
  SecretError,
  secretKey,
} from "./secrets.ts";

const scope = { orgId: "org_a", server: "linear", name: "apiKey" };

describe("SecretBox", () => {
  test("round trip; the envelope names the key and hides the plaintext", () => {
    const box = new SecretBox([secretKey(randomBytes(32))]);
    const envelope = box.encrypt("lin_api_123", scope);
    expect(envelope.kid).toBe(box.current.kid);
    expect(JSON.stringify(envelope)).not.toContain("lin_api_123");
    expect(box.decrypt(envelope, scope)).toBe("lin_api_123");
  });

  test("a ciphertext moved to another org, server, name or member fails", () => {
    const box = new SecretBox([secretKey(randomBytes(32))]);
    const envelope = box.encrypt("secret", scope);
    for (const other of [
      { ...scope, orgId: "org_b" },
      { ...scope, server: "perplexity" },
      { ...scope, name: "token" },
      { ...scope, userId: "usr_1" },
    ]) {
      expect(() => box.decrypt(envelope, other)).toThrow(SecretError);
    }
  });

  test("an old key still decrypts after rotation; an unknown key is named", () => {
    const oldKey = secretKey(randomBytes(32));
    const newKey = secretKey(randomBytes(32));
    const envelope = new SecretBox([oldKey]).encrypt("v", scope);
    const rotated = new SecretBox([newKey, oldKey]);
    expect(rotated.decrypt(envelope, scope)).toBe("v");
    expect(rotated.isCurrent(envelope)).toBe(false);
    expect(rotated.isCurrent(rotated.encrypt("v", scope))).toBe(true);
    expect(() => new SecretBox([newKey]).decrypt(envelope, scope)).toThrow(oldKey.kid);
  });
});

describe("keys", () => {
  test("base64 and hex keys parse to the same bytes; wrong lengths are rejected", () => {
    const raw = randomBytes(32);
    expect(parseSecretKey(raw.toString("base64")).equals(raw)).toBe(true);
    expect(parseSecretKey(raw.toString("hex")).equals(raw)).toBe(true);
    expect(() => parseSecretKey("c2hvcnQ=")).toThrow("32 bytes");
  });

  test("OMNI_SECRET_KEY list and OMNI_SECRET_KEY_PREVIOUS: first is current, all decrypt", () => {
    const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const keys = loadSecretKeys({
      OMNI_SECRET_KEY: `${a.toString("base64")},${b.toString("hex")}`,
      OMNI_SECRET_KEY_PREVIOUS: c.toString("base64"),
    });
    expect(keys.map((k) => k.kid)).toEqual([secretKey(a).kid, secretKey(b).kid, secretKey(c).kid]);
    expect(() =>
      loadSecretKeys({ OMNI_SECRET_KEY_PREVIOUS: "nope", OMNI_SECRET_KEY: a.toString("hex") }),
    ).toThrow("OMNI_SECRET_KEY_PREVIOUS");
  });

  test("production requires a key; development derives one, persists it and warns", () => {
    expect(() => loadSecretKeys({ NODE_ENV: "production" })).toThrow("OMNI_SECRET_KEY is required");
    const dir = mkdtempSync(join(tmpdir(), "omni-secrets-"));
    try {
      const warnings: string[] = [];
      const logger = { warn: (m: string) => warnings.push(m) };
      const first = loadSecretKeys({}, { dataDir: dir, logger });
      const second = loadSecretKeys({}, { dataDir: dir, logger });
      expect(second[0]!.kid).toBe(first[0]!.kid);
      expect(parseSecretKey(readFileSync(join(dir, "secret.key"), "utf8")).equals(first[0]!.key)).toBe(true);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toContain("OMNI_SECRET_KEY is not set");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("local development mode warns when it generates the key, not on every start", () => {
    const dir = mkdtempSync(join(tmpdir(), "omni-secrets-"));
    try {
      const warnings: string[] = [];
      const logger = { warn: (m: string) => warnings.push(m) };
      const env = { OMNI_DEV_MODE: "1", OMNI_DATA_DIR: dir };
      const first = loadSecretKeys(env, { logger });
      expect(warnings).toEqual([expect.stringContaining("just generated")]);
      const second = loadSecretKeys(env, { logger });
      expect(second[0]!.kid).toBe(first[0]!.kid);
      expect(warnings).toHaveLength(1);
      expect(readDevSecretKey(env)).toBe(readFileSync(join(dir, "secret.key"), "utf8").trim());
      expect(readDevSecretKey({ ...env, NODE_ENV: "production" })).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
