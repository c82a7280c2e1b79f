import { describe, expect, test } from "bun:test";
import { PROMPT_ARGUMENTS_KEY, promptInputs } from "./prompts.ts";

const prompt = {
  name: "triage",
  arguments: [
    { name: "team", description: "Team key", required: true },
    { name: "limit", required: true },
    { name: "note" },
  ],
};

describe("promptInputs", () => {
  test("asks for the missing required arguments in one form", () => {
    const step = promptInputs(prompt, { team: "ENG" }, {});
    expect(step.kind).toBe("input_required");
    if (step.kind !== "input_required") return;
    expect(step.inputRequests[PROMPT_ARGUMENTS_KEY]).toMatchObject({
      method: "elicitation/create",
      params: {
        requestedSchema: { type: "object", properties: { limit: { type: "string" } }, required: ["limit"] },
      },
    });
  });

  test("an accepted answer fills the arguments; a declined one proceeds as it is", () => {
    expect(
      promptInputs(
        prompt,
        {},
        { [PROMPT_ARGUMENTS_KEY]: { action: "accept", content: { team: "OPS", limit: 5 } } },
      ),
    ).toEqual({ kind: "ready", arguments: { team: "OPS", limit: "5" } });
    expect(promptInputs(prompt, { team: "x" }, { [PROMPT_ARGUMENTS_KEY]: { action: "decline" } })).toEqual({
      kind: "ready",
      arguments: { team: "x" },
    });
  });

  test("nothing missing: ready without asking", () => {
    expect(promptInputs(prompt, { team: "a", limit: "1" }, {})).toEqual({
      kind: "ready",
      arguments: { team: "a", limit: "1" },
    });
  });
});
