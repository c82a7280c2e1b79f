import { expect, test } from "bun:test";
import { boundedMemo } from "./memo.ts";

test("a memo computes once per key (null answers too) and forgets everything when full", () => {
  const computed: string[] = [];
  const verdict = boundedMemo(2, (key) => {
    computed.push(key);
    return key === "bad" ? "refused" : null;
  });
  expect([verdict("bad"), verdict("ok"), verdict("bad"), verdict("ok")]).toEqual([
    "refused",
    null,
    "refused",
    null,
  ]);
  expect(computed).toEqual(["bad", "ok"]);
  // A third key finds it full: it is cleared, so the earlier keys are computed again.
  expect(verdict("third")).toBeNull();
  expect(verdict("bad")).toBe("refused");
  expect(computed).toEqual(["bad", "ok", "third", "bad"]);
});
