import { PromptArgument, PromptMessageTemplate, PromptTemplate } from "@omni/contracts";
import { createInsertSchema } from "drizzle-valibot";
import * as v from "valibot";
import { defaultPrompts, organizationPrompts } from "./schema/index.ts";

/** A row failed validation before reaching the database; `field` is the dotted path, e.g. `messages.0.role`. */
export class InvalidRowError extends Error {
  override readonly name = "InvalidRowError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

// jsonb columns are only `unknown` to Postgres: their shapes come from the contracts, checked on write.
const name = PromptTemplate.entries.name;
const args = v.array(PromptArgument);
const messages = v.pipe(v.array(PromptMessageTemplate), v.minLength(1, "a prompt has at least one message"));

const DefaultPromptRow = createInsertSchema(defaultPrompts, { name, arguments: v.optional(args), messages });
const OrganizationPromptRow = v.partial(
  createInsertSchema(organizationPrompts, {
    name,
    arguments: v.nullable(args),
    messages: v.nullable(messages),
  }),
);

function check<T>(schema: v.GenericSchema<unknown, unknown>, input: T): T {
  const result = v.safeParse(schema, input);
  if (result.success) return input;
  const issue = result.issues[0];
  const field = v.getDotPath(issue) ?? "";
  throw new InvalidRowError(field, field ? `${field}: ${issue.message}` : issue.message);
}

export const checkDefaultPrompt = <T>(input: T): T => check(DefaultPromptRow, input);
export const checkOrganizationPrompt = <T>(input: T): T => check(OrganizationPromptRow, input);
