import { treaty } from "@elysiajs/eden";
import type { GatewayApp } from "@omni/gateway";
import { authorization } from "./auth.ts";

/**
 * The one client of the gateway's admin API: Eden treaty over the gateway's own type, same origin, with
 * the signed-in credential on every request. Pages unwrap `{ data, error }` with `unwrap`.
 */
export const gateway = treaty<GatewayApp>(location.origin, {
  headers: async () => {
    const value = await authorization();
    return value ? { authorization: value } : undefined;
  },
});
export const api = gateway.api;

/** The message of an Eden error value (every API error body carries one), or a generic one. */
export function errorMessage(error: unknown): string {
  if (error && typeof error === "object" && "value" in error) {
    const value: unknown = error.value;
    if (value && typeof value === "object") {
      if ("message" in value && typeof value.message === "string") return value.message;
      if ("error" in value) {
        const inner: unknown = value.error;
        if (inner && typeof inner === "object" && "message" in inner && typeof inner.message === "string")
          return inner.message;
      }
    }
    if (typeof value === "string" && value) return value;
  }
  if (error instanceof Error) return error.message;
  return "The request failed.";
}

/** An API call's data, or throws its error message (for `createAsync`, whose error state shows it). */
export async function unwrap<T>(call: Promise<{ data: T; error: null } | { data: null; error: unknown }>) {
  const { data, error } = await call;
  if (error !== null) throw new Error(errorMessage(error));
  return data as Exclude<T, null>;
}
