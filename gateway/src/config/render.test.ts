import { describe, expect, test } from "bun:test";
import type { PromptTemplate } from "@omni/contracts";
import { ConfigError } from "../ports.ts";
import { completeArgument, renderPrompt, templateIssues } from "./render.ts";

const review: PromptTemplate = {
  name: "review",
  description: "Review a change",
  arguments: [
    { name: "language", required: true, enum: ["typescript", "go", "rust"] },
    { name: "tone", default: "friendly" },
    { name: "focus" },
  ],
  messages: [
    { role: "user", text: "Review this {{language}} code in a {{ tone }} tone.{{focus}}" },
    { role: "assistant", text: "Sure. Template syntax is \\{{name}}; I will focus on {{language}}." },
  ],
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("renderPrompt", () => {
  test("substitutes values and defaults, keeps roles, honours \\{{ escapes", () => {
    expect(renderPrompt(review, { language: "go" })).toEqual({
      description: "Review a change",
      messages: [
        { role: "user", content: { type: "text", text: "Review this go code in a friendly tone." } },
        {
          role: "assistant",
          content: { type: "text", text: "Sure. Template syntax is {{name}}; I will focus on go." },
        },
      ],
    });
  });

  test("values are inserted verbatim, never re-expanded", () => {
    const out = renderPrompt(review, { language: "rust", tone: "{{language}}", focus: " \\{{x}}" });
    expect(out.messages[0]!.content).toEqual({
      type: "text",
      text: "Review this rust code in a {{language}} tone. \\{{x}}",
    });
  });

  test("a missing required argument is -32602 naming it (an empty string counts as missing)", () => {
    for (const args of [{}, { language: "" }] as Record<string, string>[]) {
      const error = errorOf(() => renderPrompt(review, args));
      expect(error.code).toBe(-32602);
      expect(error.message).toContain('"language"');
    }
  });

  test("a value outside the enum is -32602 naming the argument and the allowed values", () => {
    const error = errorOf(() => renderPrompt(review, { language: "cobol" }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('"language"');
    expect(error.message).toContain('"typescript", "go", "rust"');
  });

  test("an undeclared argument is rejected", () => {
    const error = errorOf(() => renderPrompt(review, { language: "go", colour: "red" }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('"colour"');
  });
});

describe("templateIssues", () => {
  test("a valid template has none", () => {
    expect(templateIssues(review)).toEqual([]);
  });

  test("unknown placeholders, malformed braces, duplicate arguments and bad defaults are reported with fields", () => {
    const issues = templateIssues({
      arguments: [{ name: "a", enum: ["x"], default: "y" }, { name: "a" }],
      messages: [
        { role: "user", text: "{{a}} and {{b}}" },
        { role: "assistant", text: "oops {{ not closed" },
      ],
    });
    expect(issues.map((i) => i.field)).toEqual([
      "arguments.0.default",
      "arguments.1.name",
      "messages.0.text",
      "messages.1.text",
    ]);
    expect(issues[2]!.message).toContain("{{b}}");
  });
});

describe("completeArgument", () => {
  test("prefix match, case-insensitive, at most 100", () => {
    expect(completeArgument(review.arguments![0]!, "T")).toEqual(["typescript"]);
    expect(completeArgument(review.arguments![0]!, "")).toEqual(["typescript", "go", "rust"]);
    const many = { name: "n", enum: Array.from({ length: 150 }, (_, i) => `v${i}`) };
    expect(completeArgument(many, "v")).toHaveLength(100);
    expect(completeArgument({ name: "free" }, "a")).toEqual([]);
  });
});
