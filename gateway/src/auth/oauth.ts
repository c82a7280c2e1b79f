import { createHash } from "node:crypto";
import { createClerkClient } from "@clerk/backend";
import { TokenVerificationError } from "@clerk/backend/errors";
import { parsePublishableKey } from "@clerk/shared/keys";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  importSPKI,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import * as v from "valibot";

/**
 * OAuth 2.1 access tokens issued by Clerk (the authorization server) for this gateway (the resource
 * server). JWT access tokens (`typ: at+jwt`, RFC 9068) are verified here with `jose`, networkless with
 * `CLERK_JWT_KEY` (JWKS from `<issuer>/.well-known/jwks.json` without it): signature (RS256 only), `iss`,
 * `exp`/`nbf`/`iat` with a small skew, `typ`, and the audience (RFC 8707: `aud` must name this MCP
 * endpoint). Opaque tokens (`oat_...`) go to Clerk's Backend API (`@clerk/backend`) when a secret key is
 * configured. Every failure is a reason code, never an exception.
 */
export interface OAuthOptions {
  /** Clerk's PEM public key (`CLERK_JWT_KEY`): networkless verification. */
  jwtKey?: string;
  /** The expected `iss` (Clerk's frontend API URL); OAuth is off without it. */
  issuer?: string;
  /** `CLERK_SECRET_KEY`: opaque tokens are verified through Clerk's Backend API with it. */
  secretKey?: string;
  /** Clerk Backend API base URL (`CLERK_API_URL`, default Clerk's). */
  apiUrl?: string;
  /** How long a verified opaque token is reused before asking Clerk again (default 30 s). */
  opaqueCacheMs?: number;
}

/** What a verified OAuth access token grants: whose it is and which scopes it carries. */
export interface OAuthGrant {
  userClerkId: string;
  clientId: string | null;
  scopes: string[];
  /** Expiry, epoch milliseconds (undefined: Clerk reported none). */
  expiresAt?: number;
}

export type OAuthVerification =
  | { ok: true; grant: OAuthGrant }
  | { ok: false; reason: string; message: string };

/** Header `typ` values of an OAuth JWT access token (RFC 9068 §2.1); jose compares without `application/`. */
const ACCESS_TOKEN_TYPES = ["at+jwt", "application/at+jwt"];
/** Clerk's prefix of opaque OAuth access tokens. */
const OPAQUE_PREFIX = "oat_";
/** Clock skew allowed on `exp`, `nbf` and `iat` (seconds). */
export const CLOCK_SKEW_SECONDS = 5;

/** Whether a bearer is an OAuth access token (opaque `oat_...`, or a JWT whose header says `at+jwt`). */
export function isOAuthAccessToken(token: string): boolean {
  if (token.startsWith(OPAQUE_PREFIX)) return true;
  if (token.split(".").length !== 3) return false;
  try {
    const { typ } = decodeProtectedHeader(token);
    return typeof typ === "string" && ACCESS_TOKEN_TYPES.includes(typ.toLowerCase());
  } catch {
    return false;
  }
}

/** Clerk's frontend API URL (the issuer) from a publishable key (`pk_test_...` / `pk_live_...`). */
export function issuerFromPublishableKey(publishableKey: string | undefined): string | undefined {
  const parsed = parsePublishableKey(publishableKey);
  return parsed ? `https://${parsed.frontendApi}` : undefined;
}

/** The MCP endpoint (the OAuth resource) of a gateway base URL, optionally for one organization. */
export function mcpResourceUrl(base: string, orgSlug?: string): string {
  const root = base.replace(/\/+$/, "");
  return orgSlug ? `${root}/mcp/o/${orgSlug}` : `${root}/mcp`;
}

/** An organization slug as it may appear in `/mcp/o/<slug>`. */
export const ORG_SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

const Claims = v.object({
  sub: v.pipe(v.string(), v.minLength(1)),
  exp: v.number(),
  client_id: v.optional(v.string()),
  azp: v.optional(v.string()),
  /** Clerk writes scopes as an array `scp`; RFC 9068 as a space-separated `scope`. */
  scp: v.optional(v.array(v.string())),
  scope: v.optional(v.string()),
});

function grantFromClaims(payload: JWTPayload): OAuthGrant | null {
  const parsed = v.safeParse(Claims, payload);
  if (!parsed.success) return null;
  const c = parsed.output;
  return {
    userClerkId: c.sub,
    clientId: c.client_id ?? c.azp ?? null,
    scopes: c.scp ?? (c.scope ?? "").split(" ").filter(Boolean),
    expiresAt: c.exp * 1000,
  };
}

const fail = (reason: string, message: string): OAuthVerification => ({ ok: false, reason, message });

/** jose's failures → our reason codes (documented in AUTH.md). */
function reasonOf(error: unknown, audiences: readonly string[]): OAuthVerification {
  if (error instanceof errors.JWTExpired) return fail("token_expired", "The access token has expired.");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "aud":
        return fail(
          "invalid_audience",
          `The access token was issued for another resource; this endpoint is ${audiences[0]} (RFC 8707 \`resource\`).`,
        );
      case "iss":
        return fail("invalid_issuer", "The access token was issued by another authorization server.");
      case "nbf":
      case "iat":
        return fail("token_not_active", "The access token is not valid yet.");
      case "typ":
        return fail("not_an_access_token", "The token is not an OAuth access token (typ at+jwt).");
      default:
        return fail("malformed_token", `The access token's ${error.claim} claim is invalid.`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return fail("invalid_algorithm", "The access token must be signed with RS256.");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return fail("invalid_signature", "The access token's signature does not verify with Clerk's key.");
  }
  if (error instanceof errors.JOSEError) {
    return fail("malformed_token", "The access token is not a well-formed signed JWT.");
  }
  throw error;
}

interface CachedGrant {
  grant: OAuthGrant;
  audiences: string;
  until: number;
}

/** Verifies OAuth access tokens against `audiences` (any one of them must be in `aud`). */
export function createOAuthVerifier(opts: OAuthOptions) {
  let key: Promise<CryptoKey | JWTVerifyGetKey> | null = null;
  const keyFor = (issuer: string) => {
    key ??= opts.jwtKey
      ? importSPKI(opts.jwtKey, "RS256")
      : Promise.resolve(createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)));
    return key;
  };
  const clerk = opts.secretKey
    ? createClerkClient({ secretKey: opts.secretKey, ...(opts.apiUrl ? { apiUrl: opts.apiUrl } : {}) })
    : null;
  const opaque = new Map<string, CachedGrant>();
  const opaqueTtl = opts.opaqueCacheMs ?? 30_000;

  async function verifyJwt(token: string, audiences: string[], issuer: string): Promise<OAuthVerification> {
    let payload: JWTPayload;
    try {
      const k = await keyFor(issuer);
      const options = {
        issuer,
        audience: audiences,
        typ: "at+jwt",
        algorithms: ["RS256"],
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ["exp", "sub"],
      };
      ({ payload } =
        typeof k === "function" ? await jwtVerify(token, k, options) : await jwtVerify(token, k, options));
    } catch (error) {
      return reasonOf(error, audiences);
    }
    const grant = grantFromClaims(payload);
    if (!grant) return fail("malformed_token", "The access token lacks `sub` or `exp`.");
    return { ok: true, grant };
  }

  async function verifyOpaque(token: string, audiences: string[]): Promise<OAuthVerification> {
    if (!clerk) {
      return fail(
        "opaque_token_unsupported",
        "Opaque OAuth tokens need CLERK_SECRET_KEY on the gateway (or set Clerk to issue JWT access tokens).",
      );
    }
    const id = createHash("sha256").update(token).digest("base64url");
    const cached = opaque.get(id);
    const audienceKey = audiences.join(" ");
    if (cached && cached.until > Date.now() && cached.audiences === audienceKey) {
      return { ok: true, grant: cached.grant };
    }
    opaque.delete(id);
    let verified: Awaited<ReturnType<typeof clerk.idPOAuthAccessToken.verify>>;
    try {
      verified = await clerk.idPOAuthAccessToken.verify(token, { audience: audiences });
    } catch (error) {
      const status = error && typeof error === "object" && "status" in error ? error.status : undefined;
      if (status === 404 || status === 400 || status === 422) {
        return fail("invalid_token", "Clerk does not know this OAuth access token (unknown or revoked).");
      }
      if (error instanceof TokenVerificationError) {
        return fail(
          "invalid_audience",
          `The access token was issued for another resource; this endpoint is ${audiences[0]} (RFC 8707 \`resource\`).`,
        );
      }
      return fail("authentication_unavailable", "Clerk could not verify the OAuth access token; retry.");
    }
    if (verified.revoked) return fail("token_revoked", "The access token was revoked.");
    if (verified.expired) return fail("token_expired", "The access token has expired.");
    const grant: OAuthGrant = {
      userClerkId: verified.subject,
      clientId: verified.clientId || null,
      scopes: verified.scopes ?? [],
      ...(verified.expiration ? { expiresAt: verified.expiration } : {}),
    };
    if (opaque.size >= 10_000) opaque.clear();
    const until = Math.min(Date.now() + opaqueTtl, grant.expiresAt ?? Number.POSITIVE_INFINITY);
    opaque.set(id, { grant, audiences: audienceKey, until });
    return { ok: true, grant };
  }

  return {
    async verify(token: string, audiences: string[]): Promise<OAuthVerification> {
      if (!opts.issuer) {
        return fail(
          "oauth_not_configured",
          "OAuth access tokens are not accepted: set CLERK_ISSUER (or CLERK_PUBLISHABLE_KEY) and CLERK_JWT_KEY.",
        );
      }
      if (token.startsWith(OPAQUE_PREFIX)) return verifyOpaque(token, audiences);
      return verifyJwt(token, audiences, opts.issuer);
    },
  };
}
