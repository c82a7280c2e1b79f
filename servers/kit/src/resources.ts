import { type CallScope, ErrorCode, type ResourceReadResponse } from "@omni/contracts";
import { type ResourceContext, ResourceNotFoundError, type ServerDefinition } from "./types.ts";
import { compileUriTemplate } from "./uri-template.ts";

export type ResourceReader = (
  uri: string,
  scope: CallScope,
  signal: AbortSignal,
) => Promise<ResourceReadResponse>;

/** Static resources by exact URI, then templates in declaration order (RFC 6570 level 1). */
export function createResourceReader(def: ServerDefinition): ResourceReader {
  const statics = new Map((def.resources ?? []).map((r) => [r.uri, r]));
  const templates = (def.resourceTemplates ?? []).map((t) => ({
    def: t,
    matcher: compileUriTemplate(t.uriTemplate),
  }));
  return async (uri, scope, signal) => {
    const ctx: ResourceContext = {
      signal,
      org: scope.org,
      config: scope.config,
      sessionKey: scope.sessionKey,
    };
    try {
      const resource = statics.get(uri);
      if (resource) return { ok: true, result: await resource.read(ctx) };
      for (const t of templates) {
        const vars = t.matcher.match(uri);
        if (vars) return { ok: true, result: await t.def.read(uri, vars, ctx) };
      }
    } catch (error) {
      if (error instanceof ResourceNotFoundError) {
        return {
          ok: false,
          error: { code: ErrorCode.ResourceNotFound, message: error.message, data: { uri } },
        };
      }
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        error: { code: ErrorCode.InternalError, message: `Reading ${uri} failed: ${message}` },
      };
    }
    return {
      ok: false,
      error: { code: ErrorCode.ResourceNotFound, message: `Resource not found: ${uri}`, data: { uri } },
    };
  };
}
