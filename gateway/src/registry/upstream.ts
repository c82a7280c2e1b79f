import { createServerClient, KitRpcError, type ServerClient } from "@omni/kit";

/**
 * One domain server instance's RPC client: the kit's `createServerClient` (Eden treaty typed by the
 * kit's `KitApp`, so a contract change that breaks the gateway fails the type check). Every request
 * carries the deployment's internal token (`Authorization: Bearer <OMNI_INTERNAL_TOKEN>`).
 */
export type UpstreamClient = ServerClient;
export type UpstreamClientFactory = (baseUrl: string) => UpstreamClient;

/**
 * Clients that send `internalToken` (the gateway's `OMNI_INTERNAL_TOKEN`, read once at start-up); tool
 * calls over each instance's call socket unless `callSocket` is false (`UPSTREAM_CALL_SOCKET`).
 */
export function createClientFactory(internalToken: string, callSocket = true): UpstreamClientFactory {
  return (baseUrl) => createServerClient(baseUrl, { internalToken, callSocket });
}

/** Clients that send this process's token (`OMNI_INTERNAL_TOKEN`, else the development `.data/` token). */
export const defaultClientFactory: UpstreamClientFactory = (baseUrl) => createServerClient(baseUrl);

/**
 * Whether a failed upstream call says the instance is down: only transport failures (connection refused
 * or reset, a cut stream, a proxy's 502/503/504). A failure the instance answered, or one that never left
 * the gateway (arguments that cannot be serialised), belongs to that call alone.
 */
export function isTransportFailure(error: unknown): boolean {
  return error instanceof KitRpcError && error.transport;
}

/** A short, internals-free reason for a call's own failure: the HTTP status, else the error's kind. */
export function callFailureReason(error: unknown): string {
  if (error instanceof KitRpcError) {
    return error.status === 401
      ? "HTTP 401: the gateway's OMNI_INTERNAL_TOKEN does not match the server's"
      : `HTTP ${error.status}`;
  }
  return error instanceof Error ? error.name : "unknown error";
}
