import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { invalidParamPaths, okResult, resultText, toolErrorText } from "@omni/kit/testing";
import { PERPLEXITY_TOOLS } from "./fixtures/tool-names.ts";
import { perplexityHarness } from "./harness.ts";

let h: ReturnType<typeof perplexityHarness>;
beforeEach(() => {
  h = perplexityHarness();
});
afterEach(() => h.stop());

const lastBody = () => h.standIn.requests.at(-1)?.body ?? {};

describe("capabilities", () => {
  test("lists every tool with annotations and an output schema; research supports tasks", async () => {
    const caps = await h.client.capabilities();
    expect(caps.tools.map((t) => t.name).sort()).toEqual(PERPLEXITY_TOOLS);
    for (const tool of caps.tools) {
      expect(tool.annotations).toMatchObject({
        readOnlyHint: true,
        destructiveHint: false,
        openWorldHint: true,
      });
      expect(tool.outputSchema?.type).toBe("object");
    }
    expect(caps.tools.find((t) => t.name === "perplexity_research")?.execution?.taskSupport).toBe("optional");
  });
});

describe("perplexity_search", () => {
  test("returns ranked results with titles, URLs, snippets and dates", async () => {
    const r = okResult(await h.call("perplexity_search", { query: "bun release", maxResults: 3 }));
    const results = r.structuredContent.results as {
      rank: number;
      title: string;
      url: string;
      date: string;
    }[];
    expect(results.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(results[0]).toMatchObject({ title: "Bun 1.4 release notes", url: "https://bun.sh/blog/bun-v1.4" });
    expect(results[0]?.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(resultText(r)).toContain("1. Bun 1.4 release notes (");
    expect(resultText(r)).toContain("   Bun 1.4 ships a faster test runner.");
    expect(lastBody()).toMatchObject({ query: "bun release", max_results: 3 });
  });

  test("passes recency, domain, date and country filters in Perplexity's formats", async () => {
    const week = okResult(await h.call("perplexity_search", { query: "news", recency: "week" }));
    expect((week.structuredContent.results as unknown[]).length).toBe(2);
    const domains = okResult(
      await h.call("perplexity_search", { query: "docs", domains: ["valibot.dev", "postgresql.org"] }),
    );
    expect(
      (domains.structuredContent.results as { url: string }[]).map((x) => new URL(x.url).hostname),
    ).toEqual(["valibot.dev", "www.postgresql.org"]);
    const excluded = okResult(await h.call("perplexity_search", { query: "docs", domains: ["-bun.sh"] }));
    expect(
      (excluded.structuredContent.results as { url: string }[]).some((x) => x.url.includes("bun.sh")),
    ).toBe(false);
    okResult(
      await h.call("perplexity_search", {
        query: ["a", "b"],
        after: "2026-01-05",
        before: "2026-11-30",
        country: "de",
      }),
    );
    expect(lastBody()).toMatchObject({
      query: ["a", "b"],
      search_after_date_filter: "1/5/2026",
      search_before_date_filter: "11/30/2026",
      country: "DE",
    });
  });
});

describe("answers", () => {
  test("perplexity_ask streams a cited answer and keeps every citation and search result", async () => {
    const progress: string[] = [];
    const r = okResult(
      await h.call(
        "perplexity_ask",
        { question: "What is new in Bun?", recency: "month" },
        undefined,
        progress,
      ),
    );
    const sc = r.structuredContent as {
      answer: string;
      citations: string[];
      searchResults: { url: string }[];
      model: string;
    };
    expect(sc.answer).toBe("Answer (sonar) to: What is new in Bun? [1][2][3]");
    expect(sc.citations).toEqual([
      "https://bun.sh/blog/bun-v1.4",
      "https://elysiajs.com/essential/best-practice",
      "https://modelcontextprotocol.io/specification",
    ]);
    expect(sc.searchResults.length).toBe(3); // the month filter leaves three pages
    expect(sc.searchResults.map((s) => s.url).slice(0, 3)).toEqual(sc.citations);
    const text = resultText(r);
    expect(text).toContain("Sources:\n[1] Bun 1.4 release notes — https://bun.sh/blog/bun-v1.4");
    expect(text).toContain("[3] MCP specification — https://modelcontextprotocol.io/specification");
    expect(lastBody()).toMatchObject({ model: "sonar", stream: true, search_recency_filter: "month" });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toContain("Receiving the answer");
  });

  test("perplexity_ask lists uncited search results too", async () => {
    h.standIn.nextContent.push("Only the first source matters [1].");
    const r = okResult(
      await h.call("perplexity_ask", { question: "q", model: "sonar-pro", systemPrompt: "Be brief." }),
    );
    const text = resultText(r);
    expect(text).toContain(
      "Other search results:\n- Valibot guide — https://valibot.dev/guides/introduction",
    );
    expect(text).toContain(
      "- Postgres partitioning — https://www.postgresql.org/docs/current/ddl-partitioning.html",
    );
    expect(lastBody().messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "q" },
    ]);
  });

  test("perplexity_reason separates the <think> part from the answer", async () => {
    const r = okResult(await h.call("perplexity_reason", { question: "Is Bun faster than Node for tests?" }));
    const sc = r.structuredContent as { answer: string; reasoning: string; citations: string[] };
    expect(sc.reasoning).toBe("Weighing the sources about Is Bun faster than Node for tests?.");
    expect(sc.answer).toStartWith("Answer (sonar-reasoning-pro) to:");
    expect(sc.answer).not.toContain("<think>");
    expect(resultText(r)).not.toContain("Weighing the sources");
    expect(sc.citations.length).toBe(3);
    expect(lastBody()).toMatchObject({ model: "sonar-reasoning-pro" });

    const shown = okResult(await h.call("perplexity_reason", { question: "Why?", includeReasoning: true }));
    expect(resultText(shown)).toStartWith(
      "Reasoning:\nWeighing the sources about Why?.\n\nAnswer:\nAnswer (sonar-reasoning-pro)",
    );
  });

  test("perplexity_compare asks for JSON Schema output and returns the structured comparison", async () => {
    const comparison = {
      options: ["Bun", "Node"].map((option, i) => ({
        option,
        summary: `${option} summary`,
        ratings: [{ criterion: "speed", rating: 5 - i, assessment: `${option} speed` }],
        strengths: [`${option} strength`],
        weaknesses: [],
      })),
      recommendation: "Bun for new projects [1].",
    };
    h.standIn.nextContent.push(`\`\`\`json\n${JSON.stringify(comparison)}\n\`\`\``);
    const r = okResult(
      await h.call("perplexity_compare", { options: ["Bun", "Node"], criteria: ["speed"], context: "CI" }),
    );
    expect(r.structuredContent).toMatchObject({ ...comparison, model: "sonar-pro" });
    expect((r.structuredContent.citations as string[]).length).toBe(3);
    const text = resultText(r);
    expect(text).toContain("## Bun\nBun summary\n- speed: 5/5 — Bun speed");
    expect(text).toContain("Recommendation: Bun for new projects [1].");
    const format = lastBody().response_format as {
      type: string;
      json_schema: { schema: { required: string[] } };
    };
    expect(format.type).toBe("json_schema");
    expect(format.json_schema.schema.required).toEqual(["options", "recommendation"]);
    expect(format.json_schema.schema).not.toHaveProperty("$schema");
  });

  test("perplexity_compare works with whatever the schema-following model returns", async () => {
    const r = okResult(
      await h.call("perplexity_compare", { options: ["A", "B", "C"], criteria: ["cost", "risk"] }),
    );
    expect((r.structuredContent.options as unknown[]).length).toBe(1);
    expect(r.structuredContent.recommendation).toBe("recommendation (stand-in)");
  });

  test("perplexity_summarize summarizes a URL (searching its site) or a given text (no search)", async () => {
    const page = okResult(
      await h.call("perplexity_summarize", {
        url: "https://www.postgresql.org/docs/current/ddl-partitioning.html",
        length: "brief",
      }),
    );
    expect(page.structuredContent).toMatchObject({ source: "url" });
    expect(page.structuredContent.citations).toEqual([
      "https://www.postgresql.org/docs/current/ddl-partitioning.html",
    ]);
    expect(lastBody()).toMatchObject({ model: "sonar", search_domain_filter: ["postgresql.org"] });

    const text = okResult(
      await h.call("perplexity_summarize", { text: "A long memo about partitions.", focus: "risks" }),
    );
    expect(text.structuredContent).toMatchObject({ source: "text", citations: [], searchResults: [] });
    const body = lastBody();
    expect(body.disable_search).toBe(true);
    expect(JSON.stringify(body.messages)).toContain("Focus on: risks.");
    expect(JSON.stringify(body.messages)).toContain("A long memo about partitions.");
  });
});

describe("argument validation (isError results naming the field paths)", () => {
  test("bad arguments never reach Perplexity", async () => {
    expect(invalidParamPaths(await h.call("perplexity_search", { query: "" }))).toContain("query");
    expect(invalidParamPaths(await h.call("perplexity_search", { query: "x", recency: "decade" }))).toEqual([
      "recency",
    ]);
    expect(
      invalidParamPaths(await h.call("perplexity_search", { query: "x", domains: ["not a domain"] })),
    ).toEqual(["domains.0"]);
    expect(invalidParamPaths(await h.call("perplexity_search", { query: "x", maxResults: 50 }))).toEqual([
      "maxResults",
    ]);
    expect(invalidParamPaths(await h.call("perplexity_search", { query: "x", after: "01/05/2026" }))).toEqual(
      ["after"],
    );
    expect(invalidParamPaths(await h.call("perplexity_ask", { question: "x", model: "gpt-4" }))).toEqual([
      "model",
    ]);
    expect(invalidParamPaths(await h.call("perplexity_ask", {}))).toEqual(["question"]);
    expect(
      invalidParamPaths(await h.call("perplexity_compare", { options: ["only one"], criteria: ["x"] })),
    ).toEqual(["options"]);
    expect(invalidParamPaths(await h.call("perplexity_summarize", { url: "ftp://x.org/file" }))).toEqual([
      "url",
    ]);
    const both = await h.call("perplexity_summarize", { url: "https://x.org", text: "t" });
    expect(toolErrorText(both)).toContain("give exactly one of url or text");
    expect(
      invalidParamPaths(await h.call("perplexity_research", { topic: "x", reasoningEffort: "max" })),
    ).toEqual(["reasoningEffort"]);
    expect(h.standIn.requests.length).toBe(0);
  });
});
