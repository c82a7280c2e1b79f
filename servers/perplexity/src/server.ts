import type { ServerDefinition } from "@omni/kit";
import { answerTools } from "./answers.ts";
import { defaultResources, description, prompts } from "./catalogue.ts";
import { DEFAULT_BASE_URL, type PerplexityOptions } from "./perplexity.ts";
import { researchResources, researchTools } from "./research.ts";
import { searchTools } from "./search.ts";

export interface PerplexityServerOptions extends Partial<PerplexityOptions> {
  /** Key used when the server runs alone (no gateway passing an org's config); usually PERPLEXITY_API_KEY. */
  standaloneApiKey?: string;
}

/**
 * Reads PERPLEXITY_BASE_URL, PERPLEXITY_TIMEOUT_MS, PERPLEXITY_MAX_RETRY_AFTER_MS,
 * PERPLEXITY_POLL_INTERVAL_MS, PERPLEXITY_RESEARCH_TIMEOUT_MS and PERPLEXITY_API_KEY.
 */
export function perplexityOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): PerplexityServerOptions {
  const options: PerplexityServerOptions = {};
  const num = (name: string, set: (n: number) => void) => {
    const value = env[name];
    if (value === undefined || value === "") return;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of milliseconds`);
    set(n);
  };
  if (env.PERPLEXITY_BASE_URL) options.baseURL = env.PERPLEXITY_BASE_URL;
  num("PERPLEXITY_TIMEOUT_MS", (n) => {
    options.timeoutMs = n;
  });
  num("PERPLEXITY_MAX_RETRY_AFTER_MS", (n) => {
    options.maxRetryAfterMs = n;
  });
  num("PERPLEXITY_POLL_INTERVAL_MS", (n) => {
    options.pollIntervalMs = n;
  });
  num("PERPLEXITY_RESEARCH_TIMEOUT_MS", (n) => {
    options.researchTimeoutMs = n;
  });
  if (env.PERPLEXITY_API_KEY) options.standaloneApiKey = env.PERPLEXITY_API_KEY;
  return options;
}

/** The Perplexity domain server: search, answers, reasoning, comparison, summaries and deep research. */
export function createPerplexityServer(options: PerplexityServerOptions = {}): ServerDefinition {
  const px: PerplexityOptions = {
    baseURL: options.baseURL ?? DEFAULT_BASE_URL,
    timeoutMs: options.timeoutMs ?? 120_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
    pollIntervalMs: options.pollIntervalMs ?? 5_000,
    researchTimeoutMs: options.researchTimeoutMs ?? 20 * 60_000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const standaloneKey = options.standaloneApiKey;
  return {
    name: "perplexity",
    version: "0.1.0",
    title: "Perplexity",
    description,
    instructions:
      "Web research with Perplexity. perplexity_search for ranked links, perplexity_ask for a cited answer, " +
      "perplexity_reason for analytical questions, perplexity_compare to weigh options, perplexity_summarize for a " +
      "page or text, and perplexity_research for a long cited report (minutes). Cite the numbered sources.",
    tools: [...searchTools(px), ...answerTools(px), ...researchTools(px)],
    prompts,
    defaultResources,
    resourceTemplates: researchResources(px),
    standaloneConfig: () => {
      const credentials: Record<string, string> = standaloneKey ? { apiKey: standaloneKey } : {};
      return { settings: {}, credentials };
    },
    async health() {
      return { status: "ok", details: { baseURL: px.baseURL, timeoutMs: px.timeoutMs } };
    },
  };
}
