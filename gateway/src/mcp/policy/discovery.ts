import type { ToolAnnotations, ToolDescriptor } from "@omni/contracts";
import MiniSearch from "minisearch";
import * as v from "valibot";

/**
 * Progressive discovery (a bundle with `discovery: true`): instead of every schema, `tools/list` answers
 * two tools, `search_tools` (ranked by name, title, description and annotations) and `call_tool` (name +
 * arguments, routed exactly like a direct `tools/call`: same authorization, policy, audit and argument
 * validation). The ranking is MiniSearch's BM25+ with prefix and fuzzy matching; the index is built once
 * per scope (per org view version), on first search.
 */

export const SEARCH_TOOLS = "search_tools";
export const CALL_TOOL = "call_tool";

const READ_ONLY: ToolAnnotations = { readOnlyHint: true, idempotentHint: true, openWorldHint: false };

export const DISCOVERY_TOOLS: ToolDescriptor[] = [
  {
    name: SEARCH_TOOLS,
    title: "Search tools",
    description:
      "Finds the tools available to you by what they do. Returns the best matches with each tool's name, description, annotations and input schema; then run one with call_tool. An empty query lists tools in catalogue order.",
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", maxLength: 500, description: "What you want to do, in a few words" },
        limit: { type: "integer", minimum: 1, maximum: 50, default: 10, description: "How many tools" },
      },
      required: ["query"],
      additionalProperties: false,
    },
    annotations: { title: "Search tools", ...READ_ONLY },
  },
  {
    name: CALL_TOOL,
    title: "Call a tool",
    description:
      "Runs one of the tools search_tools found, by its name, with its arguments (an object matching the tool's input schema). Returns that tool's result.",
    inputSchema: {
      type: "object",
      properties: {
        name: { type: "string", description: "The tool's name, as search_tools gave it" },
        arguments: { type: "object", description: "The tool's arguments", additionalProperties: true },
      },
      required: ["name"],
      additionalProperties: false,
    },
    annotations: { title: "Call a tool", openWorldHint: true },
  },
];

export const SearchToolsArgs = v.strictObject({
  query: v.pipe(v.string(), v.maxLength(500)),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(50)), 10),
});

export const CallToolArgs = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  arguments: v.optional(v.record(v.string(), v.unknown())),
});

/** Words for the annotations, so "read only" or "destructive" find the tools that say so. */
function annotationText(a: ToolAnnotations | undefined): string {
  if (!a) return "";
  const words = [a.title ?? ""];
  if (a.readOnlyHint) words.push("read-only read only safe");
  if (a.destructiveHint) words.push("destructive deletes changes");
  if (a.idempotentHint) words.push("idempotent");
  if (a.openWorldHint) words.push("open-world external web");
  return words.join(" ");
}

interface Doc {
  id: number;
  name: string;
  title: string;
  description: string;
  annotations: string;
}

export class ToolSearch {
  private readonly index: MiniSearch<Doc>;

  constructor(private readonly tools: readonly ToolDescriptor[]) {
    this.index = new MiniSearch<Doc>({
      fields: ["name", "title", "description", "annotations"],
      // Names are snake_case or dotted: split on punctuation (underscore included) and case changes.
      tokenize: (text) => text.split(/[\s\p{P}]+|(?<=[a-z])(?=[A-Z])/u).filter(Boolean),
      searchOptions: { boost: { name: 3, title: 2, annotations: 0.5 }, prefix: true, fuzzy: 0.2 },
    });
    this.index.addAll(
      tools.map((tool, id) => ({
        id,
        name: tool.name,
        title: tool.title ?? tool.annotations?.title ?? "",
        description: tool.description,
        annotations: annotationText(tool.annotations),
      })),
    );
  }

  /** The best `limit` tools for the query (every tool in order for an empty query), with their scores. */
  search(query: string, limit: number): { tool: ToolDescriptor; score: number }[] {
    if (query.trim() === "") return this.tools.slice(0, limit).map((tool) => ({ tool, score: 0 }));
    return this.index
      .search(query)
      .slice(0, limit)
      .map((hit) => ({ tool: this.tools[hit.id as number]!, score: Math.round(hit.score * 1000) / 1000 }));
  }
}
