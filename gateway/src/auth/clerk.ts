import { verifyToken } from "@clerk/backend";
import * as v from "valibot";

/** How Clerk session tokens are verified. `jwtKey` (PEM) is networkless; `secretKey` fetches the JWKS. */
export interface ClerkOptions {
  jwtKey?: string;
  secretKey?: string;
  /** Allowed `azp` values (the origins of your front ends). Empty: not checked. */
  authorizedParties?: string[];
  /** Expected `iss` (the Clerk frontend API URL); also the authorization server in discovery metadata. */
  issuer?: string;
}

/** The organization and user a verified session token speaks for. */
export interface ClerkSession {
  userClerkId: string;
  sessionId: string | null;
  orgClerkId: string | null;
  orgSlug: string | null;
  orgRole: string | null;
  /** Clerk permission keys, e.g. `org:admin:write`. */
  orgPermissions: string[];
  email: string | null;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
}

export type ClerkVerification =
  | { ok: true; session: ClerkSession }
  | { ok: false; reason: string; message: string };

/** Clerk's reason codes → ours (stable, snake_case, documented in AUTH.md). */
const REASONS: Record<string, string> = {
  "token-expired": "token_expired",
  "token-not-active-yet": "token_not_active",
  "token-iat-in-the-future": "token_not_active",
  "token-invalid-signature": "invalid_signature",
  "token-invalid-authorized-parties": "invalid_authorized_party",
  "token-invalid-issuer": "invalid_issuer",
  "token-invalid-algorithm": "invalid_algorithm",
  "token-invalid": "malformed_token",
  "token-verification-failed": "invalid_signature",
  "jwk-kid-mismatch": "invalid_signature",
};

const V1Claims = v.object({
  org_id: v.optional(v.string()),
  org_slug: v.optional(v.string()),
  org_role: v.optional(v.string()),
  org_permissions: v.optional(v.array(v.string())),
});

const V2Org = v.object({
  id: v.string(),
  slg: v.optional(v.string()),
  rol: v.optional(v.string()),
  per: v.optional(v.string()),
  fpm: v.optional(v.string()),
});

const Base = v.object({
  sub: v.string(),
  sid: v.optional(v.string()),
  exp: v.number(),
  v: v.optional(v.number()),
  o: v.optional(v.unknown()),
  fea: v.optional(v.string()),
  email: v.optional(v.string()),
});

/** Decimal bitmask string → bits, least significant first (Clerk's `fpm` entries). */
function bits(decimal: string, length: number): number[] {
  let n = /^\d+$/.test(decimal) ? BigInt(decimal) : 0n;
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    out.push(Number(n & 1n));
    n >>= 1n;
  }
  return out;
}

/**
 * v2 permissions: `o.per` lists permission names, `fea` lists features (`o:<feature>` for org features),
 * and `o.fpm` gives, per org feature, a bitmask over `per`. Result: `org:<feature>:<permission>`.
 * When `fpm` is absent, `per` is read as a plain comma-separated list of permission keys.
 */
function v2Permissions(org: v.InferOutput<typeof V2Org>, fea: string | undefined): string[] {
  const per = (org.per ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (!org.fpm) return per;
  const features = (fea ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f.startsWith("o:"))
    .map((f) => f.slice(2));
  const masks = org.fpm.split(",").map((m) => bits(m.trim(), per.length));
  const out: string[] = [];
  features.forEach((feature, i) => {
    const mask = masks[i];
    if (!mask) return;
    mask.forEach((bit, j) => {
      if (bit === 1) out.push(`org:${feature}:${per[j]}`);
    });
  });
  return out;
}

/** Reads user, org, role and permissions from verified claims (v2 `o` claim, or v1 `org_*` claims). */
export function sessionFromClaims(claims: unknown): ClerkSession | null {
  const base = v.safeParse(Base, claims);
  if (!base.success) return null;
  const c = base.output;
  const session: ClerkSession = {
    userClerkId: c.sub,
    sessionId: c.sid ?? null,
    orgClerkId: null,
    orgSlug: null,
    orgRole: null,
    orgPermissions: [],
    email: c.email ?? null,
    expiresAt: c.exp * 1000,
  };
  if (c.v === 2) {
    const org = v.safeParse(V2Org, c.o);
    if (org.success) {
      session.orgClerkId = org.output.id;
      session.orgSlug = org.output.slg ?? null;
      session.orgRole = org.output.rol ?? null;
      session.orgPermissions = v2Permissions(org.output, c.fea);
    }
    return session;
  }
  const v1 = v.safeParse(V1Claims, claims);
  if (v1.success) {
    session.orgClerkId = v1.output.org_id ?? null;
    session.orgSlug = v1.output.org_slug ?? null;
    session.orgRole = v1.output.org_role ?? null;
    session.orgPermissions = v1.output.org_permissions ?? [];
  }
  return session;
}

/** Verifies a Clerk session token. Never throws: every failure is a reason code. */
export async function verifyClerkToken(token: string, opts: ClerkOptions): Promise<ClerkVerification> {
  if (!opts.jwtKey && !opts.secretKey) {
    return {
      ok: false,
      reason: "clerk_not_configured",
      message: "Session tokens are not accepted: set CLERK_JWT_KEY or CLERK_SECRET_KEY, or use an API key.",
    };
  }
  let claims: unknown;
  try {
    // The package's `verifyToken` returns the claims and throws a TokenVerificationError on failure.
    claims = await verifyToken(token, {
      ...(opts.jwtKey ? { jwtKey: opts.jwtKey } : { secretKey: opts.secretKey }),
      ...(opts.authorizedParties?.length ? { authorizedParties: opts.authorizedParties } : {}),
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
    });
  } catch (error) {
    const raw =
      error instanceof Error && "reason" in error && typeof error.reason === "string" ? error.reason : "";
    const message = error instanceof Error ? error.message : "The token could not be verified.";
    return { ok: false, reason: REASONS[raw] ?? "invalid_token", message };
  }
  const session = sessionFromClaims(claims);
  if (!session) return { ok: false, reason: "malformed_token", message: "The token lacks required claims." };
  if (!session.sessionId) {
    // Signed by the same Clerk instance but not a session token (an OIDC ID token, a JWT template, ...).
    return {
      ok: false,
      reason: "not_a_session_token",
      message:
        "This JWT is not a Clerk session token (no `sid`): MCP clients send an OAuth access token (typ at+jwt), others a session token or an API key.",
    };
  }
  return { ok: true, session };
}
