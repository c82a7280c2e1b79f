import { describe, expect, test } from "bun:test";
import { type Asker, answerElicitation, parseAnswer } from "../src/elicit.ts";

/** A terminal that answers from a script (null: the user pressed Ctrl-D) and records the prompts. */
function scripted(answers: (string | null)[]) {
  const prompts: string[] = [];
  let closed = false;
  const asker = (): Asker => ({
    question: async (prompt) => {
      prompts.push(prompt);
      return answers.length > 0 ? (answers.shift() ?? null) : null;
    },
    close: () => {
      closed = true;
    },
  });
  return { asker, prompts, closed: () => closed };
}

const form = {
  message: "Who, how many, sure?",
  requestedSchema: {
    type: "object" as const,
    properties: {
      name: { type: "string" as const, title: "Name" },
      count: { type: "integer" as const, minimum: 1, default: 3 },
      color: { type: "string" as const, enum: ["red", "green"] },
      sure: { type: "boolean" as const },
    },
    required: ["name", "sure"],
  },
};

describe("omni call answers elicitations", () => {
  test("on a terminal: one prompt per field, typed, re-asked until valid, defaults and optional fields", async () => {
    const out: string[] = [];
    const term = scripted(["", "Ada", "0", "2.5", "", "2", "maybe", "yes"]);
    const result = await answerElicitation(form, {
      interactive: true,
      asker: term.asker,
      write: (text) => out.push(text),
    });
    expect(result).toEqual({
      action: "accept",
      content: { name: "Ada", count: 3, color: "green", sure: true },
    });
    expect(term.prompts[0]).toBe("Name: ");
    expect(term.prompts).toContain("count (integer; default 3): ");
    expect(term.prompts).toContain("color (1) red 2) green; optional): ");
    expect(out.join("")).toContain("Name is required");
    expect(out.join("")).toContain("count: expected at least 1");
    expect(out.join("")).toContain("count: expected a whole number");
    expect(out.join("")).toContain("sure: expected yes or no");
    expect(term.closed()).toBe(true);
  });

  test("!decline declines, Ctrl-D cancels", async () => {
    const write = () => {};
    expect(
      await answerElicitation(form, { interactive: true, asker: scripted(["!decline"]).asker, write }),
    ).toEqual({
      action: "decline",
    });
    expect(
      await answerElicitation(form, { interactive: true, asker: scripted(["Ada", null]).asker, write }),
    ).toEqual({ action: "cancel" });
  });

  test("--elicit-json accepts without asking; no terminal declines and says what to pass", async () => {
    const never = () => {
      throw new Error("must not ask");
    };
    expect(
      await answerElicitation(form, {
        preset: { name: "Bo", sure: false },
        interactive: true,
        asker: never,
        write: () => {},
      }),
    ).toEqual({ action: "accept", content: { name: "Bo", sure: false } });
    const out: string[] = [];
    expect(
      await answerElicitation(form, { interactive: false, asker: never, write: (t) => out.push(t) }),
    ).toEqual({
      action: "decline",
    });
    expect(out.join("")).toContain(`--elicit-json '{"name": …, "count": …, "color": …, "sure": …}'`);
  });

  test("a URL request shows its URL and accepts on Enter", async () => {
    const out: string[] = [];
    const params = {
      mode: "url" as const,
      message: "Sign in",
      url: "http://127.0.0.1:9/auth",
      elicitationId: "e1",
    };
    expect(
      await answerElicitation(params, {
        interactive: true,
        asker: scripted([""]).asker,
        write: (t) => out.push(t),
      }),
    ).toEqual({
      action: "accept",
    });
    expect(out.join("")).toContain("open http://127.0.0.1:9/auth");
  });

  test("answers parse by type: choices by value or number, booleans, bounded numbers, arrays", () => {
    expect(parseAnswer({ enum: ["a", "b"] }, "2")).toEqual({ value: "b" });
    expect(parseAnswer({ enum: ["a", "b"] }, "c")).toEqual({ problem: "one of a, b" });
    expect(parseAnswer({ type: "boolean" }, "N")).toEqual({ value: false });
    expect(parseAnswer({ type: "number", maximum: 5 }, "6")).toEqual({ problem: "at most 5" });
    expect(parseAnswer({ type: "array", items: { enum: ["x", "y"] } }, "x, y")).toEqual({
      value: ["x", "y"],
    });
    expect(parseAnswer({ type: "array", items: { enum: ["x"] } }, "x,z")).toEqual({
      problem: "comma-separated values of x",
    });
  });
});
