import * as v from "valibot";

/**
 * Perplexity's wire formats as this server reads them (checked on every answer, so a malformed one is a
 * clear tool error) and the shapes it returns as `structuredContent`.
 */

const nullish = <T extends v.GenericSchema>(schema: T) => v.optional(v.nullable(schema), null);

export const SearchResultWire = v.object({
  title: v.string(),
  url: v.string(),
  snippet: v.optional(v.nullable(v.string()), ""),
  date: nullish(v.string()),
  last_updated: nullish(v.string()),
});
export type SearchResultWire = v.InferOutput<typeof SearchResultWire>;

const Usage = v.object({
  prompt_tokens: v.optional(v.number()),
  completion_tokens: v.optional(v.number()),
  total_tokens: v.optional(v.number()),
});

export const CompletionWire = v.object({
  id: v.string(),
  model: v.string(),
  choices: v.pipe(
    v.array(
      v.object({
        message: v.object({ content: v.nullable(v.string()) }),
        finish_reason: nullish(v.string()),
      }),
    ),
    v.minLength(1, "no choices"),
  ),
  citations: nullish(v.array(v.string())),
  search_results: nullish(v.array(SearchResultWire)),
  usage: nullish(Usage),
});
export type CompletionWire = v.InferOutput<typeof CompletionWire>;

export const ChunkWire = v.object({
  id: v.string(),
  model: v.string(),
  choices: v.array(
    v.object({
      delta: v.optional(v.object({ content: nullish(v.string()) }), { content: null }),
      finish_reason: nullish(v.string()),
    }),
  ),
  citations: nullish(v.array(v.string())),
  search_results: nullish(v.array(SearchResultWire)),
  usage: nullish(Usage),
});

export const SearchWire = v.object({ id: v.string(), results: v.array(SearchResultWire) });

export const AsyncWire = v.object({
  id: v.string(),
  model: v.string(),
  status: v.picklist(["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED"]),
  created_at: v.number(),
  error_message: nullish(v.string()),
  response: nullish(CompletionWire),
});

/** A source: a search result, numbered as the answer cites it (1-based) when it is cited. */
export const Source = v.object({
  title: v.string(),
  url: v.string(),
  snippet: v.string(),
  date: v.nullable(v.string()),
});
export type Source = v.InferOutput<typeof Source>;

const UsageOut = v.nullable(
  v.object({
    promptTokens: v.nullable(v.number()),
    completionTokens: v.nullable(v.number()),
    totalTokens: v.nullable(v.number()),
  }),
);

/** An answer with its sources: `citations[i]` is what `[i+1]` in the answer refers to. */
export const Answer = v.object({
  answer: v.string(),
  model: v.string(),
  citations: v.array(v.string()),
  searchResults: v.array(Source),
  usage: UsageOut,
});
export type Answer = v.InferOutput<typeof Answer>;
