import { type ToolContext, ToolError } from "@omni/kit";
import type Perplexity from "@perplexity-ai/perplexity_ai";
import { type Answer, ChunkWire, CompletionWire, type SearchResultWire, type Source } from "./model.ts";
import { type PerplexityApi, parseResponse } from "./perplexity.ts";

export type ChatRequest = Omit<Perplexity.Chat.CompletionCreateParams, "stream">;

const source = (r: SearchResultWire): Source => ({
  title: r.title,
  url: r.url,
  snippet: r.snippet ?? "",
  date: r.date ?? r.last_updated ?? null,
});

/** A completion (streamed or whole) as this server returns it; citations and search results kept whole. */
export function toAnswer(wire: CompletionWire): Answer {
  const usage = wire.usage
    ? {
        promptTokens: wire.usage.prompt_tokens ?? null,
        completionTokens: wire.usage.completion_tokens ?? null,
        totalTokens: wire.usage.total_tokens ?? null,
      }
    : null;
  return {
    answer: wire.choices[0]?.message.content ?? "",
    model: wire.model,
    citations: wire.citations ?? [],
    searchResults: (wire.search_results ?? []).map(source),
    usage,
  };
}

/** One chat completion, returned whole. */
export async function complete(api: PerplexityApi, request: ChatRequest): Promise<Answer> {
  const data = await api.call((client, signal) => client.chat.completions.create(request, { signal }), true);
  return toAnswer(parseResponse(CompletionWire, data));
}

/**
 * One chat completion streamed (SSE): progress notifications as the answer arrives, the deadline covering
 * the whole stream, and the last citations/search results any chunk carried.
 */
export async function stream(api: PerplexityApi, request: ChatRequest, ctx: ToolContext): Promise<Answer> {
  return api.call(async (client, signal) => {
    const chunks = await client.chat.completions.create({ ...request, stream: true }, { signal });
    let content = "";
    let wire: CompletionWire | undefined;
    let n = 0;
    for await (const raw of chunks) {
      const chunk = parseResponse(ChunkWire, raw);
      content += chunk.choices[0]?.delta.content ?? "";
      wire = {
        id: chunk.id,
        model: chunk.model,
        choices: [{ message: { content }, finish_reason: chunk.choices[0]?.finish_reason ?? null }],
        citations: chunk.citations ?? wire?.citations ?? null,
        search_results: chunk.search_results ?? wire?.search_results ?? null,
        usage: chunk.usage ?? wire?.usage ?? null,
      };
      n++;
      if (n % 5 === 1)
        await ctx.progress(n, undefined, `Receiving the answer (${content.length} characters so far)`);
    }
    // The SDK ends an aborted stream quietly; PerplexityApi.call turns this into a timeout or cancellation.
    if (signal.aborted) throw signal.reason;
    if (!wire)
      throw new ToolError(
        "Perplexity returned a malformed response (the stream carried no answer). Try again.",
      );
    return toAnswer(wire);
  }, true);
}

/** Splits a reasoning model's `<think>…</think>` from its answer (an unclosed one is all reasoning). */
export function splitThink(content: string): { reasoning: string | null; answer: string } {
  const open = content.indexOf("<think>");
  if (open === -1) return { reasoning: null, answer: content.trim() };
  const close = content.indexOf("</think>", open);
  if (close === -1)
    return { reasoning: content.slice(open + 7).trim(), answer: content.slice(0, open).trim() };
  return {
    reasoning: content.slice(open + 7, close).trim(),
    answer: (content.slice(0, open) + content.slice(close + 8)).trim(),
  };
}

/** The answer followed by its numbered sources, then any search results it did not cite. */
export function answerText(answer: string, a: Pick<Answer, "citations" | "searchResults">): string {
  const lines = [answer.trim() || "(Perplexity returned an empty answer.)"];
  const byUrl = new Map(a.searchResults.map((r) => [r.url, r]));
  if (a.citations.length) {
    lines.push("", "Sources:");
    a.citations.forEach((url, i) => {
      const r = byUrl.get(url);
      lines.push(`[${i + 1}] ${r ? `${r.title} — ` : ""}${url}${r?.date ? ` (${r.date})` : ""}`);
    });
  }
  const cited = new Set(a.citations);
  const others = a.searchResults.filter((r) => !cited.has(r.url));
  if (others.length) {
    lines.push("", "Other search results:");
    for (const r of others) lines.push(`- ${r.title} — ${r.url}${r.date ? ` (${r.date})` : ""}`);
  }
  return lines.join("\n");
}
