/**
 * Bounded JSON for every body the gateway parses (admin API, `/mcp`, `/ws` messages, and so tool
 * arguments): the size limit is the security plugin's (MAX_BODY_BYTES, checked before reading); the
 * nesting depth is checked here by one linear scan of the text *before* `JSON.parse`, so a deeply nested
 * document costs one pass over its bytes and never reaches the parser or a schema.
 */

/** Deepest nesting of arrays/objects accepted in a JSON body (`{"a":[1]}` is depth 2). */
export const MAX_JSON_DEPTH = 64;

/** A body that is not acceptable JSON: `syntax` (not JSON), `depth` (nested too deep), `nul` (a NUL character). */
export class JsonBodyError extends Error {
  constructor(
    readonly reason: "syntax" | "depth" | "nul",
    message: string,
  ) {
    super(message);
  }
}

/** Whether JSON text nests arrays/objects deeper than `max` (strings are skipped, escapes honoured). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/** Parses JSON text of a body; throws `JsonBodyError` when it is not JSON or nests deeper than `maxDepth`. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(text, maxDepth)) {
    throw new JsonBodyError("depth", `The JSON body nests deeper than ${maxDepth} levels.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new JsonBodyError("syntax", "The request body is not valid JSON.");
  }
}

/**
 * The dotted path (under `root`) of the first string or property name in a parsed JSON value that contains
 * a NUL character (U+0000), or of a `__proto__` property, or null. Postgres text and jsonb cannot store NUL, so such input is refused
 * (or, for tool arguments, stored escaped) instead of failing deep in a query.
 */
export function nulPath(value: unknown, root: string): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === "string") {
      if (item.includes("\u0000")) return path;
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${path}.${i}`]);
    } else if (typeof item === "object" && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const at = `${path}.${key.replaceAll("\u0000", "\\u0000").slice(0, 64)}`;
        if (key.includes("\u0000")) return at;
        stack.push([child, at]);
      }
      // JSON.parse makes `"__proto__"` an own key; schemas silently drop it. Refuse it by name instead.
      if (Object.hasOwn(item, "__proto__")) return `${path}.__proto__`;
    }
  }
  return null;
}
