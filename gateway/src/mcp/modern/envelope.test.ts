import { describe, expect, test } from "bun:test";
import { ErrorCode } from "@omni/contracts";
import { ModernErrorCode, validateEnvelope } from "./envelope.ts";
import { META } from "./era.ts";

const meta = {
  [META.protocolVersion]: "2026-07-28",
  [META.clientCapabilities]: { elicitation: {} },
  [META.clientInfo]: { name: "t", version: "1" },
};
function headers(method: string, extra: Record<string, string> = {}) {
  return new Headers({ "mcp-protocol-version": "2026-07-28", "mcp-method": method, ...extra });
}
function rejection(outcome: ReturnType<typeof validateEnvelope>) {
  if (outcome.ok) throw new Error("expected a rejection");
  return outcome.rejection;
}

describe("validateEnvelope", () => {
  test("accepts a complete envelope and reads capabilities, log level and progress token", () => {
    const outcome = validateEnvelope(
      headers("tools/call", { "mcp-name": "  echo " }),
      "tools/call",
      { name: "echo", _meta: { ...meta, [META.logLevel]: "info", progressToken: 7 } },
      true,
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.envelope.protocolVersion).toBe("2026-07-28");
    expect(outcome.envelope.clientCapabilities).toEqual({ elicitation: {} });
    expect(outcome.envelope.logLevel).toBe("info");
    expect(outcome.envelope.progressToken).toBe(7);
  });

  test("clientInfo is optional", () => {
    const { [META.clientInfo]: _info, ...rest } = meta;
    expect(validateEnvelope(headers("server/discover"), "server/discover", { _meta: rest }, true).ok).toBe(
      true,
    );
  });

  test("missing _meta or missing keys → -32602 (HTTP 400) naming the keys", () => {
    const none = rejection(validateEnvelope(headers("tools/list"), "tools/list", {}, true));
    expect(none).toMatchObject({ status: 400, error: { code: ErrorCode.InvalidParams } });
    const { [META.clientCapabilities]: _caps, ...noCaps } = meta;
    const missing = rejection(validateEnvelope(headers("tools/list"), "tools/list", { _meta: noCaps }, true));
    expect(missing.error.code).toBe(ErrorCode.InvalidParams);
    expect(missing.error.message).toContain(META.clientCapabilities);
  });

  test("header and body disagreeing → -32020; unknown version → -32022 with supported and requested", () => {
    const mismatch = rejection(
      validateEnvelope(
        headers("tools/list"),
        "tools/list",
        { _meta: { ...meta, [META.protocolVersion]: "v9" } },
        true,
      ),
    );
    expect(mismatch).toMatchObject({ status: 400, error: { code: ModernErrorCode.HeaderMismatch } });
    const unsupported = rejection(
      validateEnvelope(
        headers("tools/list", { "mcp-protocol-version": "v9" }),
        "tools/list",
        { _meta: { ...meta, [META.protocolVersion]: "v9" } },
        true,
      ),
    );
    expect(unsupported).toMatchObject({
      status: 400,
      error: {
        code: ModernErrorCode.UnsupportedProtocolVersion,
        data: { supported: ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"], requested: "v9" },
      },
    });
  });

  test("Mcp-Method and Mcp-Name must be present and match the body", () => {
    const noMethod = rejection(
      validateEnvelope(
        new Headers({ "mcp-protocol-version": "2026-07-28" }),
        "tools/list",
        { _meta: meta },
        true,
      ),
    );
    expect(noMethod.error.code).toBe(ModernErrorCode.HeaderMismatch);
    const wrongCase = rejection(validateEnvelope(headers("TOOLS/LIST"), "tools/list", { _meta: meta }, true));
    expect(wrongCase.error.message).toContain("TOOLS/LIST");
    const wrongName = rejection(
      validateEnvelope(
        headers("tools/call", { "mcp-name": "other" }),
        "tools/call",
        { name: "echo", _meta: meta },
        true,
      ),
    );
    expect(wrongName.error.code).toBe(ModernErrorCode.HeaderMismatch);
    const noName = rejection(
      validateEnvelope(headers("resources/read"), "resources/read", { uri: "a://b", _meta: meta }, true),
    );
    expect(noName.error.message).toContain("Mcp-Name");
    const encoded = `=?base64?${Buffer.from("täst://ü").toString("base64")}?=`;
    expect(
      validateEnvelope(
        headers("resources/read", { "mcp-name": encoded }),
        "resources/read",
        { uri: "täst://ü", _meta: meta },
        true,
      ).ok,
    ).toBe(true);
  });

  test("notifications need no standard headers; malformed fields are -32602", () => {
    expect(
      validateEnvelope(
        new Headers({ "mcp-protocol-version": "2026-07-28" }),
        "notifications/cancelled",
        { _meta: meta },
        false,
      ).ok,
    ).toBe(true);
    const badLevel = rejection(
      validateEnvelope(
        headers("tools/list"),
        "tools/list",
        { _meta: { ...meta, [META.logLevel]: "loud" } },
        true,
      ),
    );
    expect(badLevel.error).toMatchObject({ code: ErrorCode.InvalidParams });
    expect(badLevel.error.message).toContain(META.logLevel);
  });
});
