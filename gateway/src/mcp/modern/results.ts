import { isRecord, type Json } from "../protocol.ts";
import { META } from "./era.ts";

/** Methods whose results carry `ttlMs`/`cacheScope` (SEP-2549). */
const CACHEABLE = new Set([
  "server/discover",
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
]);
/** Methods that may answer `input_required` (SEP-2322). */
const INPUT_REQUIRED_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);

export interface CacheHint {
  ttlMs: number;
  /** `public`: the same for every caller; `private`: only within one authorization context (org, user). */
  cacheScope: "public" | "private";
}

export interface ServerInfo {
  name: string;
  version: string;
  title?: string;
}

/**
 * Turns a method's result into its 2026-07-28 wire form: `resultType` (always), `ttlMs`/`cacheScope` on
 * cacheable complete results (a value the handler set wins), the server's identity in `_meta`, and the
 * fields this revision removed (`execution` on tools) dropped. Pure.
 */
export function decorateResult(method: string, result: Json, cache: CacheHint, server: ServerInfo): Json {
  const resultType = typeof result.resultType === "string" ? result.resultType : "complete";
  if (resultType === "input_required" && !INPUT_REQUIRED_METHODS.has(method)) {
    throw new Error(`${method} cannot answer input_required`);
  }
  const out: Json = { ...result, resultType };
  if (resultType === "complete" && CACHEABLE.has(method)) {
    if (!(Number.isInteger(out.ttlMs) && (out.ttlMs as number) >= 0))
      out.ttlMs = Math.max(0, Math.round(cache.ttlMs));
    if (out.cacheScope !== "public" && out.cacheScope !== "private") out.cacheScope = cache.cacheScope;
  }
  if (method === "tools/list" && Array.isArray(out.tools)) {
    out.tools = out.tools.map((tool) => {
      if (!isRecord(tool) || !("execution" in tool)) return tool;
      const { execution: _removed, ...rest } = tool;
      return rest;
    });
  }
  const meta = isRecord(out._meta) ? out._meta : {};
  if (meta[META.serverInfo] === undefined) out._meta = { ...meta, [META.serverInfo]: server };
  return out;
}
