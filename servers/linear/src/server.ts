import type { ServerDefinition } from "@omni/kit";
import { defaultResources, description, prompts } from "./catalogue.ts";
import { issueTools } from "./issues.ts";
import { DEFAULT_API_URL, type LinearOptions } from "./linear.ts";
import { linearResources } from "./resources.ts";
import { workspaceTools } from "./workspace.ts";

export interface LinearServerOptions extends Partial<LinearOptions> {
  /** Key used when the server runs alone (no gateway passing an org's config); usually LINEAR_API_KEY. */
  standaloneApiKey?: string;
}

/** Reads LINEAR_API_URL, LINEAR_TIMEOUT_MS, LINEAR_MAX_RETRY_AFTER_MS and LINEAR_API_KEY. */
export function linearOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): LinearServerOptions {
  const num = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of milliseconds`);
    return n;
  };
  const options: LinearServerOptions = {};
  if (env.LINEAR_API_URL) options.apiUrl = env.LINEAR_API_URL;
  const timeoutMs = num(env.LINEAR_TIMEOUT_MS, "LINEAR_TIMEOUT_MS");
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  const maxRetryAfterMs = num(env.LINEAR_MAX_RETRY_AFTER_MS, "LINEAR_MAX_RETRY_AFTER_MS");
  if (maxRetryAfterMs !== undefined) options.maxRetryAfterMs = maxRetryAfterMs;
  if (env.LINEAR_API_KEY) options.standaloneApiKey = env.LINEAR_API_KEY;
  return options;
}

/** The Linear domain server: tools, dynamic resources and a health probe, for the kit to serve. */
export function createLinearServer(options: LinearServerOptions = {}): ServerDefinition {
  const linear: LinearOptions = {
    apiUrl: options.apiUrl ?? DEFAULT_API_URL,
    timeoutMs: options.timeoutMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
  };
  const { resources, resourceTemplates } = linearResources(linear);
  const standaloneKey = options.standaloneApiKey;
  return {
    name: "linear",
    version: "0.1.0",
    title: "Linear",
    description,
    instructions:
      "Linear issue tracking. Find teams with linear_get_teams (their keys, like ENG, work wherever a team is asked for), " +
      "search with linear_search_issues, and read one issue with linear_get_issue before changing it.",
    tools: [...workspaceTools(linear), ...issueTools(linear)],
    prompts,
    defaultResources,
    resources,
    resourceTemplates,
    standaloneConfig: () => {
      const credentials: Record<string, string> = standaloneKey ? { apiKey: standaloneKey } : {};
      return { settings: {}, credentials };
    },
    async health() {
      return { status: "ok", details: { apiUrl: linear.apiUrl, timeoutMs: linear.timeoutMs } };
    },
  };
}
