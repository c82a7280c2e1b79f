import { ErrorCode } from "@omni/contracts";
import * as v from "valibot";
import { type Json, RpcError } from "../protocol.ts";
import type { CallContext } from "./context.ts";

/** One method: its params schema (from contracts) and a handler of the typed params. */
export interface MethodHandler<
  S extends v.GenericSchema<unknown, unknown> = v.GenericSchema<unknown, unknown>,
> {
  readonly params: S;
  handle(call: CallContext, params: v.InferOutput<S>): Promise<Json> | Json;
}

/** Declares a method handler; `params` is the contract's schema, `handle` gets its output type. */
export function method<S extends v.GenericSchema<unknown, unknown>>(
  params: S,
  handle: (call: CallContext, params: v.InferOutput<S>) => Promise<Json> | Json,
): MethodHandler<S> {
  return { params, handle };
}

/** A readable line for one valibot issue, naming the field: `params.name is required`. */
function describe(issue: v.BaseIssue<unknown>): { path: string; message: string } {
  const dot = v.getDotPath(issue);
  const path = dot ? `params.${dot}` : "params";
  const missing = issue.kind === "schema" && issue.input === undefined && issue.expected?.startsWith('"');
  return { path, message: missing ? "is required" : issue.message };
}

/** Validates params against the handler's schema: -32602 naming every bad field (in `data`) otherwise. */
export function parseParams<S extends v.GenericSchema<unknown, unknown>>(
  handler: MethodHandler<S>,
  params: Json,
): v.InferOutput<S> {
  const parsed = v.safeParse(handler.params, params);
  if (parsed.success) return parsed.output;
  const fields = parsed.issues.map(describe);
  throw new RpcError(
    ErrorCode.InvalidParams,
    `Invalid params: ${fields.map((f) => `${f.path} ${f.message}`).join("; ")}`,
    fields,
  );
}
