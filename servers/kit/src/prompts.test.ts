import { describe, expect, test } from "bun:test";
import type { PromptTemplate } from "@omni/contracts";
import { PromptArgumentError, renderPrompt } from "./prompts.ts";

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

describe("renderPrompt", () => {
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
