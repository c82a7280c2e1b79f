import type { Authenticator, AuthOutcome } from "../ports.ts";

/**
 * Local development mode (`OMNI_DEV_MODE=1`): a request without credentials acts as the seeded demo
 * organization's owner. Requests that carry credentials are left to `next` (the real authenticator),
 * or refused when there is none. Allowed only for loopback callers; the gateway refuses to start
 * with it unless it listens on loopback.
 */
export function createDevAuthenticator(demoOrgId: string, next?: Authenticator): Authenticator {
  const demo: AuthOutcome = {
    ok: true,
    org: {
      orgId: demoOrgId,
      orgSlug: "demo",
      userId: null,
      role: "owner",
      permissions: ["tools:call", "prompts:read", "resources:read"],
      via: "dev",
    },
  };
  return {
    async authenticate(headers, remote) {
      const hasCredentials = headers.has("authorization") || headers.has("x-api-key");
      if (hasCredentials && next) return next.authenticate(headers, remote);
      if (hasCredentials) {
        return {
          ok: false,
          status: 401,
          reason: "credentials_not_supported",
          message: "This gateway runs in local development mode: send no credentials",
        };
      }
      if (!remote.loopback) {
        return {
          ok: false,
          status: 401,
          reason: "missing_credentials",
          message: "Local development mode serves loopback callers only: send a bearer token or x-api-key",
        };
      }
      return demo;
    },
    async stillValid(credentialId, expiresAt) {
      if (credentialId === undefined && expiresAt === undefined) return true;
      return next ? next.stillValid(credentialId, expiresAt) : false;
    },
    onRevocation: (listener) => next?.onRevocation?.(listener) ?? (() => {}),
  };
}

/** Whether a listen address is loopback (dev mode is refused elsewhere). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" || /^127\./.test(hostname);
}
