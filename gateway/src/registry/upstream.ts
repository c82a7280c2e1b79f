import { createServerClient, type ServerClient } from "@omni/kit";

/**
 * One domain server instance's RPC client: the kit's `createServerClient` (Eden treaty typed by the
 * kit's `KitApp`, so a contract change that breaks the gateway fails the type check).
 */
export type UpstreamClient = ServerClient;
export type UpstreamClientFactory = (baseUrl: string) => UpstreamClient;

export const defaultClientFactory: UpstreamClientFactory = (baseUrl) => createServerClient(baseUrl);
