import type { InputRequest, PromptDescriptor } from "@omni/contracts";
import { isRecord } from "../protocol.ts";

/** The inputRequests key under which a prompt's missing arguments are asked for. */
export const PROMPT_ARGUMENTS_KEY = "prompt_arguments";

export type PromptStep =
  | { kind: "ready"; arguments: Record<string, string> }
  | { kind: "input_required"; inputRequests: Record<string, InputRequest> };

/**
 * For a modern client that can elicit: the prompt's required arguments the request left out are asked
 * for in one elicitation form; its accepted answer fills them in. A declined/cancelled answer, or one
 * still missing a value, proceeds as it is (the renderer then names the missing argument). Pure.
 */
export function promptInputs(
  prompt: PromptDescriptor,
  args: Record<string, string>,
  responses: Record<string, unknown>,
): PromptStep {
  const missing = (prompt.arguments ?? []).filter((a) => a.required && typeof args[a.name] !== "string");
  if (missing.length === 0) return { kind: "ready", arguments: args };
  const answer = responses[PROMPT_ARGUMENTS_KEY];
  if (isRecord(answer) && typeof answer.action === "string") {
    if (answer.action !== "accept" || !isRecord(answer.content)) return { kind: "ready", arguments: args };
    const filled: Record<string, string> = { ...args };
    for (const argument of missing) {
      const value = answer.content[argument.name];
      if (typeof value === "string") filled[argument.name] = value;
      else if (typeof value === "number" || typeof value === "boolean") filled[argument.name] = String(value);
    }
    return { kind: "ready", arguments: filled };
  }
  const properties: Record<string, unknown> = {};
  for (const argument of missing) {
    properties[argument.name] = {
      type: "string",
      title: argument.name,
      ...(argument.description ? { description: argument.description } : {}),
    };
  }
  return {
    kind: "input_required",
    inputRequests: {
      [PROMPT_ARGUMENTS_KEY]: {
        method: "elicitation/create",
        params: {
          mode: "form",
          message: `The prompt "${prompt.title ?? prompt.name}" needs: ${missing.map((a) => a.name).join(", ")}`,
          requestedSchema: { type: "object", properties, required: missing.map((a) => a.name) },
        },
      },
    },
  };
}
