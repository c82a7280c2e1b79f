import { describe, expect, test } from "bun:test";
import { createLogger, withRequestId } from "./log.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: "debug", sink: (line) => lines.push(JSON.parse(line)) }) };
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
});
