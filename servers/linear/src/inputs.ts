import * as v from "valibot";

/** Tool annotations of a read: safe to repeat, reaches Linear. */
export const READ = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

/** Tool annotations of a write that only adds (an issue, a comment): repeating it adds again. */
export const ADD = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
} as const;

/** A non-empty, trimmed string argument. */
export const text = (description: string) =>
  v.pipe(v.string(), v.trim(), v.minLength(1), v.description(description));

/** A page size from 1 to `max`, `fallback` when not given. */
export const limit = (max: number, fallback: number) =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max)), fallback);

export const cursor = v.optional(
  v.pipe(v.string(), v.minLength(1), v.description("Cursor from a previous page.")),
);
