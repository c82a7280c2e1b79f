import { InvalidArgumentError } from "@commander-js/extra-typings";

/**
 * `--arg key=value` (repeatable) for tools and prompts. Values stay strings until a tool's input schema
 * says a property is a number, boolean, object or array; then they are read as JSON.
 */

/** Commander parser: collects `key=value` pairs; a malformed one is a usage error (exit 2). */
export function collectArg(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

type JsonSchema = { type?: unknown; properties?: Record<string, JsonSchema> };

/** The raw `--arg` strings typed by the tool's input schema (properties it does not describe stay strings). */
export function coerceArgs(raw: Record<string, string>, schema: unknown): Record<string, unknown> {
  const properties = (schema as JsonSchema | undefined)?.properties ?? {};
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const type = properties[key]?.type;
    const types = Array.isArray(type) ? type : [type];
    if (
      types.some(
        (t) => t === "number" || t === "integer" || t === "boolean" || t === "object" || t === "array",
      )
    ) {
      try {
        result[key] = JSON.parse(value);
        continue;
      } catch {
        throw new InvalidArgumentError(`--arg ${key}: "${value}" is not valid JSON for a ${types.join("|")}`);
      }
    }
    result[key] = value;
  }
  return result;
}

/** `--json '{...}'`: an object of arguments. */
export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('expected a JSON object, e.g. \'{"query":"bug"}\'');
  }
  return parsed as Record<string, unknown>;
}
