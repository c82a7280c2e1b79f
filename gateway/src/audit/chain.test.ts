import { describe, expect, test } from "bun:test";
import { auditRowHash, canonicalJson, diff, redact } from "./chain.ts";

describe("audit chain helpers", () => {
  test("canonical JSON ignores key order at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });

  test("the hash covers every field, including the previous hash", () => {
    const row = {
      organizationId: "org_1",
      seq: 1,
      actor: "usr_1",
      actorType: "user",
      action: "x",
      targetType: null,
      targetId: null,
      before: null,
      after: { a: 1 },
      metadata: {},
      createdAt: new Date("2026-01-01T00:00:00Z"),
      prevHash: null,
    };
    const hash = auditRowHash(row);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(auditRowHash({ ...row, after: { a: 2 } })).not.toBe(hash);
    expect(auditRowHash({ ...row, prevHash: "00" })).not.toBe(hash);
    expect(auditRowHash({ ...row, metadata: {} })).toBe(hash);
  });

  test("secrets are redacted by key name at any depth", () => {
    expect(
      redact({ apiKey: "k", nested: [{ client_secret: "s", name: "n" }], Authorization: "Bearer x", ok: 1 }),
    ).toEqual({
      apiKey: "[redacted]",
      nested: [{ client_secret: "[redacted]", name: "n" }],
      Authorization: "[redacted]",
      ok: 1,
    });
  });

  test("diff keeps only changed top-level fields", () => {
    expect(diff({ a: 1, b: { c: 2 }, d: 4 }, { a: 1, b: { c: 3 }, e: 5 })).toEqual({
      before: { b: { c: 2 }, d: 4 },
      after: { b: { c: 3 }, e: 5 },
      changed: ["b", "d", "e"],
    });
    expect(diff(null, { a: 1 })).toEqual({ before: null, after: { a: 1 }, changed: [] });
  });
});
