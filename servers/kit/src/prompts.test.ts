import { describe, expect, test } from "bun:test";
import type { PromptTemplate } from "@omni/contracts";
import {
  completeArgument,
  PromptArgumentError,
  PromptTemplateError,
  renderPrompt,
  templateIssues,
} from "./prompts.ts";

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const prompt: PromptTemplate = {
  name: "rich",
  description: "Rich content",
  arguments: [
    { name: "uri", required: true },
    { name: "note", default: "none" },
  ],
  messages: [
    {
      role: "user",
      text: "Resource {{uri}}",
      content: {
        type: "resource",
        resource: { uri: "{{ uri }}", mimeType: "text/plain", text: "Note: {{note}}" },
        annotations: { audience: ["user"], priority: 0.5 },
      },
    },
    { role: "assistant", text: "(image)", content: { type: "image", data: PNG, mimeType: "image/png" } },
    { role: "user", text: "About {{uri}}" },
  ],
};

describe("renderPrompt: content blocks", () => {
  test("a message with content renders that block with its string fields filled; others render text", () => {
    expect(renderPrompt(prompt, { uri: "test://doc" })).toEqual({
      description: "Rich content",
      messages: [
        {
          role: "user",
          content: {
            type: "resource",
            resource: { uri: "test://doc", mimeType: "text/plain", text: "Note: none" },
            annotations: { audience: ["user"], priority: 0.5 },
          },
        },
        { role: "assistant", content: { type: "image", data: PNG, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "About test://doc" } },
      ],
    });
    expect(prompt.messages[0]!.content).toMatchObject({ resource: { uri: "{{ uri }}" } });
  });

  test("a missing required argument is -32602 naming it, for prompts with content too", () => {
    let caught: unknown;
    try {
      renderPrompt(prompt, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PromptArgumentError);
    expect((caught as PromptArgumentError).code).toBe(-32602);
    expect((caught as PromptArgumentError).data).toEqual([
      { path: "uri", message: "required argument is missing" },
    ]);
  });
});

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

type PromptError = PromptArgumentError | PromptTemplateError;

function errorOf(fn: () => unknown): PromptError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptArgumentError || error instanceof PromptTemplateError) return error;
    throw error;
  }
  throw new Error("expected a PromptArgumentError or PromptTemplateError");
}

describe("renderPrompt: text templates", () => {
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

  test("every bad argument is listed in data, in one -32602 error", () => {
    const error = errorOf(() => renderPrompt(review, { language: "cobol", colour: "red" }));
    expect(error).toBeInstanceOf(PromptArgumentError);
    expect((error as PromptArgumentError).data).toEqual([
      { path: "colour", message: "unknown argument (it takes language, tone, focus)" },
      { path: "language", message: 'must be one of "typescript", "go", "rust"; got "cobol"' },
    ]);
  });

  test("an undeclared argument is rejected", () => {
    const error = errorOf(() => renderPrompt(review, { language: "go", colour: "red" }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('"colour"');
  });
});

const rich: PromptTemplate = {
  name: "rich",
  arguments: [
    { name: "uri", required: true },
    { name: "note", default: "none" },
  ],
  messages: [
    {
      role: "user",
      text: "Resource {{uri}}",
      content: {
        type: "resource",
        resource: { uri: "{{ uri }}", mimeType: "text/plain", text: "Note: {{note}}; literal \\{{note}}" },
        annotations: { audience: ["user"], priority: 0.5 },
      },
    },
    { role: "assistant", text: "(image)", content: { type: "image", data: PNG, mimeType: "image/png" } },
    { role: "user", text: "About {{uri}}" },
  ],
};

describe("renderPrompt with non-text content", () => {
  test("a message with content renders that block, placeholders filled in its string fields", () => {
    expect(renderPrompt(rich, { uri: "test://doc", note: "{{uri}}" })).toEqual({
      messages: [
        {
          role: "user",
          content: {
            type: "resource",
            resource: { uri: "test://doc", mimeType: "text/plain", text: "Note: {{uri}}; literal {{note}}" },
            annotations: { audience: ["user"], priority: 0.5 },
          },
        },
        { role: "assistant", content: { type: "image", data: PNG, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "About test://doc" } },
      ],
    });
  });

  test("defaults fill content too, and the template is not modified", () => {
    const before = structuredClone(rich);
    const out = renderPrompt(rich, { uri: "a" });
    expect(out.messages[0]!.content).toMatchObject({ resource: { text: "Note: none; literal {{note}}" } });
    expect(rich).toEqual(before);
  });

  test("argument checks apply to prompts with content", () => {
    const error = errorOf(() => renderPrompt(rich, {}));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('"uri"');
  });

  test("an undeclared placeholder in content of a code prompt (never validated) is -32603, not a crash", () => {
    const broken: PromptTemplate = {
      name: "broken",
      messages: [
        { role: "user", text: "x", content: { type: "resource_link", uri: "{{where}}", name: "n" } },
      ],
    };
    const error = errorOf(() => renderPrompt(broken, {}));
    expect(error.code).toBe(-32603);
    expect(error.message).toContain("{{where}}");
  });
});

describe("templateIssues", () => {
  test("placeholders in content are checked, with the content field's path", () => {
    expect(templateIssues(rich)).toEqual([]);
    const issues = templateIssues({
      arguments: [{ name: "a" }],
      messages: [
        {
          role: "user",
          text: "{{a}}",
          content: {
            type: "resource",
            resource: { uri: "{{a}}", text: "{{b}} and {{ unclosed" },
          },
        },
        { role: "user", text: "ok", content: { type: "resource_link", uri: "x", name: "{{c}}" } },
      ],
    });
    expect(issues.map((i) => i.field)).toEqual([
      "messages.0.content.resource.text",
      "messages.0.content.resource.text",
      "messages.1.content.name",
    ]);
    expect(issues[0]!.message).toContain("malformed");
    expect(issues[1]!.message).toContain("{{b}}");
    expect(issues[2]!.message).toContain("{{c}}");
  });

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
