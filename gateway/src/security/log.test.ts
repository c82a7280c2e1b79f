import { describe, expect, test } from "bun:test";
import { createLogger, withRequestId } from "./log.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    logger: createLogger({ level: "debug", format: "json", sink: (line) => lines.push(JSON.parse(line)) }),
  };
}

describe("createLogger", () => {
  test("lines inside withRequestId (and its async work) carry the request id; lines outside do not", async () => {
    const { lines, logger } = capture();
    logger.info("before");
    await withRequestId("req-1", async () => {
      logger.info("sync");
      await Bun.sleep(1);
      logger.child({ orgId: "o" }).warn("after await");
    });
    logger.info("after");
    expect(lines.map((l) => [l.msg, l.requestId ?? null])).toEqual([
      ["before", null],
      ["sync", "req-1"],
      ["after await", "req-1"],
      ["after", null],
    ]);
    expect(lines[2]?.orgId).toBe("o");
  });

  test("console-style details: an Error becomes {error: {name, message}}, an object is merged as fields", () => {
    const { lines, logger } = capture();
    logger.error("failed", new TypeError("boom"));
    logger.warn("odd", "a string");
    logger.info("fields", { keyId: "k1" });
    expect(lines[0]?.error).toEqual({ name: "TypeError", message: "boom" });
    expect(lines[1]?.error).toBe("a string");
    expect(lines[2]?.keyId).toBe("k1");
  });

  test("fields named like credentials are never written; other fields are", () => {
    const { lines, logger } = capture();
    logger.info("careless", {
      authorization: "Bearer omni_sk_live",
      apiKey: "k",
      clientSecret: "s",
      accessToken: "t",
      credentialId: "cred_1",
      orgId: "o",
    });
    expect(lines[0]).toMatchObject({
      authorization: "[redacted]",
      apiKey: "[redacted]",
      clientSecret: "[redacted]",
      accessToken: "[redacted]",
      credentialId: "cred_1",
      orgId: "o",
    });
    expect(JSON.stringify(lines)).not.toContain("omni_sk_live");
  });

  test("pretty format (development): time, level, message, then key=value pairs", () => {
    const out: string[] = [];
    const logger = createLogger({ format: "pretty", sink: (line) => out.push(line) });
    withRequestId("req-9", () =>
      logger.info("mcp request", { method: "tools/call", durationMs: 1.5, note: "two words" }),
    );
    expect(out[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}mcp request requestId=req-9 method=tools\/call durationMs=1\.5 note="two words"$/,
    );
  });
});
