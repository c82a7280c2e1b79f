import { defineTool, type ToolDefinition } from "@omni/kit";
import * as v from "valibot";
import { SearchWire, Source } from "./model.ts";
import { type PerplexityOptions, parseResponse, perplexityFor } from "./perplexity.ts";

export const Recency = v.pipe(
  v.picklist(["hour", "day", "week", "month", "year"]),
  v.description("Only sources published within this period."),
);
export const Domains = v.pipe(
  v.array(
    v.pipe(
      v.string(),
      v.regex(/^-?[a-z0-9.-]+\.[a-z]{2,}$/i, "must be a domain like example.com (prefix - to exclude)"),
    ),
  ),
  v.maxLength(20),
  v.description("Only these domains (e.g. nature.com), or exclude with a leading - (e.g. -reddit.com)."),
);
const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;
const DateInput = (what: string) =>
  v.pipe(
    v.string(),
    v.isoDate("must be a date as YYYY-MM-DD"),
    v.description(`Only sources published ${what} this date (YYYY-MM-DD).`),
  );
/** Perplexity's date filters take M/D/YYYY. */
const toUsDate = (iso: string) => {
  const [, y, m, d] = YMD.exec(iso) ?? [];
  return `${Number(m)}/${Number(d)}/${y}`;
};

const Ranked = v.object({ rank: v.number(), ...Source.entries });

export function searchTools(options: PerplexityOptions): ToolDefinition[] {
  return [
    defineTool({
      name: "perplexity_search",
      title: "Web search (Perplexity)",
      description:
        "Ranked web results (title, URL, snippet, date) from Perplexity's Search API, without an AI answer. Filter by recency, domains, dates and country.",
      input: v.object({
        query: v.union([
          v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(2000)),
          v.pipe(v.array(v.pipe(v.string(), v.trim(), v.minLength(1))), v.minLength(1), v.maxLength(5)),
        ]),
        maxResults: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(20)), 10),
        recency: v.optional(Recency),
        domains: v.optional(Domains),
        after: v.optional(DateInput("after")),
        before: v.optional(DateInput("before")),
        country: v.optional(
          v.pipe(v.string(), v.regex(/^[A-Za-z]{2}$/, "must be a two-letter country code"), v.toUpperCase()),
        ),
      }),
      output: v.object({
        id: v.string(),
        query: v.union([v.string(), v.array(v.string())]),
        results: v.array(Ranked),
      }),
      annotations: {
        title: "Web search (Perplexity)",
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: true,
      },
      async handler(args, ctx) {
        const api = perplexityFor(ctx.config, options, ctx.signal);
        const data = await api.call(
          (client, signal) =>
            client.search.create(
              {
                query: args.query,
                max_results: args.maxResults,
                search_recency_filter: args.recency,
                search_domain_filter: args.domains,
                search_after_date_filter: args.after ? toUsDate(args.after) : undefined,
                search_before_date_filter: args.before ? toUsDate(args.before) : undefined,
                country: args.country,
              },
              { signal },
            ),
          true,
        );
        const wire = parseResponse(SearchWire, data);
        const results = wire.results.map((r, i) => ({
          rank: i + 1,
          title: r.title,
          url: r.url,
          snippet: r.snippet ?? "",
          date: r.date ?? r.last_updated ?? null,
        }));
        const lines = results.map(
          (r) =>
            `${r.rank}. ${r.title}${r.date ? ` (${r.date})` : ""}\n   ${r.url}${r.snippet ? `\n   ${r.snippet}` : ""}`,
        );
        return {
          content: [{ type: "text", text: results.length ? lines.join("\n") : "No results." }],
          structuredContent: { id: wire.id, query: args.query, results },
        };
      },
    }),
  ];
}
