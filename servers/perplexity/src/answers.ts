import { defineTool, type ToolContext, type ToolDefinition, ToolError } from "@omni/kit";
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { answerText, type ChatRequest, complete, splitThink, stream } from "./chat.ts";
import { Answer } from "./model.ts";
import { type PerplexityOptions, perplexityFor } from "./perplexity.ts";
import { Domains, Recency } from "./search.ts";

const text = (description: string, max = 8000) =>
  v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max), v.description(description));
const ContextSize = v.pipe(
  v.picklist(["low", "medium", "high"]),
  v.description("How much web context the model reads (more is slower and costs more)."),
);

const ANSWER = {
  readOnlyHint: true,
  destructiveHint: false,
  // Same question, same side effects (none); the answer itself may differ.
  idempotentHint: true,
  openWorldHint: true,
} as const;

function searchOptions(args: {
  recency?: string | undefined;
  domains?: string[] | undefined;
  searchContextSize?: "low" | "medium" | "high" | undefined;
}): Partial<ChatRequest> {
  const out: Partial<ChatRequest> = {};
  if (args.recency) out.search_recency_filter = args.recency as ChatRequest["search_recency_filter"];
  if (args.domains) out.search_domain_filter = args.domains;
  if (args.searchContextSize) out.web_search_options = { search_context_size: args.searchContextSize };
  return out;
}

const Reasoned = v.object({ ...Answer.entries, reasoning: v.nullable(v.string()) });

/** The comparison a model fills in (its JSON Schema goes to Perplexity as response_format). */
const Comparison = v.object({
  options: v.array(
    v.object({
      option: v.string(),
      summary: v.string(),
      ratings: v.array(
        v.object({
          criterion: v.string(),
          rating: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(5)),
          assessment: v.string(),
        }),
      ),
      strengths: v.array(v.string()),
      weaknesses: v.array(v.string()),
    }),
  ),
  recommendation: v.string(),
});
type Comparison = v.InferOutput<typeof Comparison>;
// Without the `$schema` key, which structured-output endpoints do not need.
const { $schema: _draft, ...COMPARISON_SCHEMA } = toJsonSchema(Comparison, { errorMode: "ignore" }) as Record<
  string,
  unknown
>;

/** Parses the model's JSON (tolerating a ```json fence and a reasoning preamble) against `Comparison`. */
function parseComparison(content: string): Comparison {
  const body = splitThink(content)
    .answer.replace(/^```(?:json)?\s*/i, "")
    .replace(/\s*```$/, "");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new ToolError(
      "Perplexity returned a malformed comparison (not JSON). Try again, or reduce the options.",
    );
  }
  const parsed = v.safeParse(Comparison, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new ToolError(
      `Perplexity returned a malformed comparison (${issue ? `${v.getDotPath(issue) ?? ""}: ${issue.message}` : "unexpected shape"}). Try again.`,
    );
  }
  return parsed.output;
}

export function answerTools(options: PerplexityOptions): ToolDefinition[] {
  const api = (ctx: ToolContext) => perplexityFor(ctx.config, options, ctx.signal);
  return [
    defineTool({
      name: "perplexity_ask",
      title: "Ask Perplexity",
      description:
        "A web-grounded answer from Perplexity's Sonar models with numbered citations [1], [2], ... and the search results it used.",
      input: v.object({
        question: text("The question."),
        model: v.optional(v.picklist(["sonar", "sonar-pro"]), "sonar"),
        systemPrompt: v.optional(text("Instructions for style or focus.", 4000)),
        recency: v.optional(Recency),
        domains: v.optional(Domains),
        searchContextSize: v.optional(ContextSize),
      }),
      output: Answer,
      annotations: { title: "Ask Perplexity", ...ANSWER },
      async handler(args, ctx) {
        const messages: ChatRequest["messages"] = [];
        if (args.systemPrompt) messages.push({ role: "system", content: args.systemPrompt });
        messages.push({ role: "user", content: args.question });
        const answer = await stream(api(ctx), { model: args.model, messages, ...searchOptions(args) }, ctx);
        return {
          content: [{ type: "text", text: answerText(answer.answer, answer) }],
          structuredContent: answer,
        };
      },
    }),
    defineTool({
      name: "perplexity_reason",
      title: "Reason with Perplexity",
      description:
        "Multi-step, web-grounded reasoning (sonar-reasoning-pro) for analytical questions. The model's thinking is returned separately from the answer.",
      input: v.object({
        question: text("The problem or question."),
        includeReasoning: v.optional(
          v.pipe(
            v.boolean(),
            v.description("Also show the model's reasoning in the text (always in structuredContent)."),
          ),
          false,
        ),
        recency: v.optional(Recency),
        domains: v.optional(Domains),
        searchContextSize: v.optional(ContextSize),
      }),
      output: Reasoned,
      annotations: { title: "Reason with Perplexity", ...ANSWER },
      async handler(args, ctx) {
        const raw = await stream(
          api(ctx),
          {
            model: "sonar-reasoning-pro",
            messages: [{ role: "user", content: args.question }],
            ...searchOptions(args),
          },
          ctx,
        );
        const { reasoning, answer } = splitThink(raw.answer);
        const structured = { ...raw, answer, reasoning };
        let shown = answerText(answer, raw);
        if (args.includeReasoning && reasoning) shown = `Reasoning:\n${reasoning}\n\nAnswer:\n${shown}`;
        return { content: [{ type: "text", text: shown }], structuredContent: structured };
      },
    }),
    defineTool({
      name: "perplexity_compare",
      title: "Compare options with Perplexity",
      description:
        "Compare two or more options (products, libraries, approaches) against your criteria using web research; returns ratings (1-5) per criterion, strengths, weaknesses and a recommendation, with sources.",
      input: v.object({
        options: v.pipe(
          v.array(text("An option.", 200)),
          v.minLength(2, "give at least two options"),
          v.maxLength(6),
        ),
        criteria: v.pipe(
          v.array(text("A criterion.", 200)),
          v.minLength(1, "give at least one criterion"),
          v.maxLength(10),
        ),
        context: v.optional(text("What the comparison is for (use case, constraints).", 4000)),
        recency: v.optional(Recency),
      }),
      output: v.object({
        ...Comparison.entries,
        model: v.string(),
        citations: v.array(v.string()),
        searchResults: Answer.entries.searchResults,
      }),
      annotations: { title: "Compare options with Perplexity", ...ANSWER },
      async handler(args, ctx) {
        const prompt = [
          `Compare these options: ${args.options.map((o) => `"${o}"`).join(", ")}.`,
          `Rate each option from 1 (poor) to 5 (excellent) on each criterion: ${args.criteria.map((c) => `"${c}"`).join(", ")}.`,
          args.context ? `Context: ${args.context}` : "",
          "Base the assessments on current sources. Answer only with JSON matching the schema.",
        ]
          .filter(Boolean)
          .join("\n");
        const answer = await complete(api(ctx), {
          model: "sonar-pro",
          messages: [{ role: "user", content: prompt }],
          response_format: {
            type: "json_schema",
            json_schema: { name: "comparison", schema: COMPARISON_SCHEMA },
          },
          ...searchOptions(args),
        });
        const comparison = parseComparison(answer.answer);
        const lines: string[] = [];
        for (const o of comparison.options) {
          lines.push(`## ${o.option}`, o.summary);
          for (const r of o.ratings) lines.push(`- ${r.criterion}: ${r.rating}/5 — ${r.assessment}`);
          if (o.strengths.length) lines.push(`Strengths: ${o.strengths.join("; ")}`);
          if (o.weaknesses.length) lines.push(`Weaknesses: ${o.weaknesses.join("; ")}`);
          lines.push("");
        }
        lines.push(`Recommendation: ${comparison.recommendation}`);
        return {
          content: [{ type: "text", text: answerText(lines.join("\n"), answer) }],
          structuredContent: {
            ...comparison,
            model: answer.model,
            citations: answer.citations,
            searchResults: answer.searchResults,
          },
        };
      },
    }),
    defineTool({
      name: "perplexity_summarize",
      title: "Summarize a page or text with Perplexity",
      description:
        "Summarize a web page (give `url`) or a text you provide (give `text`), optionally with a focus. Page summaries cite their sources.",
      input: v.pipe(
        v.object({
          url: v.optional(
            v.pipe(
              v.string(),
              v.url("must be an http(s) URL"),
              v.regex(/^https?:\/\//i, "must be an http(s) URL"),
            ),
          ),
          text: v.optional(text("The text to summarize.", 100_000)),
          focus: v.optional(text("What the summary should concentrate on.", 1000)),
          length: v.optional(v.picklist(["brief", "standard", "detailed"]), "standard"),
        }),
        v.check((a) => (a.url === undefined) !== (a.text === undefined), "give exactly one of url or text"),
      ),
      output: v.object({ ...Answer.entries, source: v.picklist(["url", "text"]) }),
      annotations: { title: "Summarize with Perplexity", ...ANSWER },
      async handler(args, ctx) {
        const size = {
          brief: "in 2-3 sentences",
          standard: "in one or two short paragraphs",
          detailed: "in detail, with headings",
        }[args.length];
        const focus = args.focus ? ` Focus on: ${args.focus}.` : "";
        let request: ChatRequest;
        if (args.url) {
          request = {
            model: "sonar",
            messages: [
              { role: "system", content: "You summarize web pages faithfully. Cite the page." },
              { role: "user", content: `Summarize the web page at ${args.url} ${size}.${focus}` },
            ],
            search_domain_filter: [new URL(args.url).hostname.replace(/^www\./, "")],
          };
        } else {
          request = {
            model: "sonar",
            disable_search: true,
            messages: [
              { role: "system", content: "You summarize the user's text faithfully, without adding facts." },
              { role: "user", content: `Summarize the following text ${size}.${focus}\n\n---\n${args.text}` },
            ],
          };
        }
        const answer = await complete(api(ctx), request);
        return {
          content: [{ type: "text", text: answerText(answer.answer, answer) }],
          structuredContent: { ...answer, source: args.url ? ("url" as const) : ("text" as const) },
        };
      },
    }),
  ];
}
