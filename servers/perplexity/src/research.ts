import {
  defineTool,
  type ResourceTemplateDefinition,
  sleep,
  type ToolDefinition,
  ToolError,
} from "@omni/kit";
import * as v from "valibot";
import { answerText, splitThink, toAnswer } from "./chat.ts";
import { Answer, AsyncWire } from "./model.ts";
import { type PerplexityOptions, parseResponse, perplexityFor } from "./perplexity.ts";

const Research = v.object({ ...Answer.entries, reasoning: v.nullable(v.string()), requestId: v.string() });

export function researchTools(options: PerplexityOptions): ToolDefinition[] {
  return [
    defineTool({
      name: "perplexity_research",
      title: "Deep research with Perplexity",
      description:
        "An exhaustive, cited research report (sonar-deep-research). Runs as an asynchronous Perplexity request that takes minutes; progress is reported while it runs and the call can be cancelled.",
      input: v.object({
        topic: v.pipe(
          v.string(),
          v.trim(),
          v.minLength(1),
          v.maxLength(8000),
          v.description("What to research."),
        ),
        reasoningEffort: v.optional(
          v.pipe(
            v.picklist(["low", "medium", "high"]),
            v.description("Depth of research (higher is slower)."),
          ),
          "medium",
        ),
      }),
      output: Research,
      annotations: {
        title: "Deep research with Perplexity",
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: true,
      },
      taskSupport: "optional",
      async handler(args, ctx) {
        const api = perplexityFor(ctx.config, options, ctx.signal);
        const started = Date.now();
        // The idempotency key makes the submission safe to retry after a 429.
        const idempotencyKey = crypto.randomUUID();
        let job = parseResponse(
          AsyncWire,
          await api.call(
            (client, signal) =>
              client.async.chat.completions.create(
                {
                  idempotency_key: idempotencyKey,
                  request: {
                    model: "sonar-deep-research",
                    messages: [{ role: "user", content: args.topic }],
                    reasoning_effort: args.reasoningEffort,
                  },
                },
                { signal },
              ),
            true,
          ),
        );
        const id = job.id;
        let polls = 0;
        await ctx.progress(0, undefined, `Research request ${id} submitted`);
        while (job.status !== "COMPLETED") {
          if (job.status === "FAILED") {
            throw new ToolError(
              `Perplexity's research request ${id} failed: ${job.error_message ?? "no reason given"}. Try again, perhaps with a narrower topic.`,
            );
          }
          const elapsed = Date.now() - started;
          if (elapsed >= options.researchTimeoutMs) {
            throw new ToolError(
              `Perplexity's research request ${id} is still ${job.status.toLowerCase()} after ${Math.round(elapsed / 1000)} s (PERPLEXITY_RESEARCH_TIMEOUT_MS). Try again later or with a narrower topic.`,
            );
          }
          try {
            await sleep(options.pollIntervalMs, ctx.signal);
          } catch {
            throw new ToolError(
              `Research cancelled. Perplexity's request ${id} cannot be stopped and may still complete on their side.`,
            );
          }
          job = parseResponse(
            AsyncWire,
            await api.call(
              (client, signal) => client.async.chat.completions.get(id, undefined, { signal }),
              true,
            ),
          );
          polls++;
          await ctx.progress(
            polls,
            undefined,
            `Research ${job.status.toLowerCase().replace("_", " ")} (${Math.round((Date.now() - started) / 1000)} s)`,
          );
        }
        if (!job.response) {
          throw new ToolError(
            `Perplexity returned a malformed response (research request ${id} completed without a result).`,
          );
        }
        const raw = toAnswer(job.response);
        const { reasoning, answer } = splitThink(raw.answer);
        return {
          content: [{ type: "text", text: answerText(answer, raw) }],
          structuredContent: { ...raw, answer, reasoning, requestId: id },
        };
      },
    }),
  ];
}

/**
 * `perplexity://research/{requestId}`: the state (and, once completed, the report) of a deep research
 * request, e.g. one whose tool call was cancelled while Perplexity kept working on it.
 */
export function researchResources(options: PerplexityOptions): ResourceTemplateDefinition[] {
  return [
    {
      uriTemplate: "perplexity://research/{requestId}",
      name: "perplexity-research",
      title: "A Perplexity deep research request",
      description:
        "Status of a perplexity_research request by its id, with the cited report once it completed.",
      mimeType: "application/json",
      async read(uri, vars, ctx) {
        const api = perplexityFor(ctx.config, options, ctx.signal);
        const id = vars.requestId ?? "";
        const job = parseResponse(
          AsyncWire,
          await api.call(
            (client, signal) => client.async.chat.completions.get(id, undefined, { signal }),
            true,
          ),
        );
        let body: Record<string, unknown> = {
          requestId: job.id,
          status: job.status,
          error: job.error_message,
        };
        if (job.response) {
          const raw = toAnswer(job.response);
          body = { ...body, ...raw, ...splitThink(raw.answer) };
        }
        return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(body, null, 2) }] };
      },
    },
  ];
}
