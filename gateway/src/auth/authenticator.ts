import type { OrgContext } from "@omni/contracts";
import { type ApiKey, createRepositories, type Database, schema } from "@omni/db";
import { and, eq } from "drizzle-orm";
import type { Authenticator, AuthOutcome, AuthRemote, Caller } from "../ports.ts";
import type { Logger } from "../security/log.ts";
import { hashApiKey, isWellFormedApiKey, looksLikeApiKey } from "./api-keys.ts";
import { type ClerkOptions, verifyClerkToken } from "./clerk.ts";
import {
  createOAuthVerifier,
  isOAuthAccessToken,
  mcpResourceUrl,
  type OAuthGrant,
  type OAuthOptions,
} from "./oauth.ts";
import { isPermission, MCP_SCOPES, permissionsFor, roleForScopes } from "./permissions.ts";
import type { AuthState } from "./state.ts";

export interface AuthenticatorDeps {
  db: Database;
  state: AuthState;
  clerk: ClerkOptions;
  /** OAuth access tokens (Clerk as authorization server); off without an issuer. */
  oauth?: OAuthOptions;
  /** The gateway's public base URL (`PUBLIC_URL`): the OAuth resource is `<it>/mcp`. Default: the request's origin. */
  publicUrl?: string;
  logger?: Logger;
  /** How long a verified credential's database rows are reused (default 30 s; revocation still wins). */
  cacheTtlMs?: number;
  /** `last_used_at` is written at most this often per key (default 60 s). */
  lastUsedIntervalMs?: number;
}

const { organizationMemberships, organizations, users } = schema;

interface KeyEntry {
  row: ApiKey;
  orgSlug: string;
  gen: number;
  at: number;
}

interface MemberEntry {
  orgId: string;
  orgSlug: string;
  userId: string;
  membershipId: string;
  role: OrgContext["role"];
  permissions: string[];
  gen: number;
  at: number;
}

interface UserMemberships {
  userId: string;
  memberships: Omit<MemberEntry, "userId" | "at">[];
  at: number;
}

const MAX_CACHE = 10_000;

function fail(status: 401 | 403 | 503, reason: string, message: string): AuthOutcome {
  return { ok: false, status, reason, message };
}

/** `Authorization: Bearer <token>` or `x-api-key`; null when neither is present. */
function credentialFrom(headers: Headers): { token: string } | { error: AuthOutcome } | null {
  const apiKey = headers.get("x-api-key");
  if (apiKey) return { token: apiKey.trim() };
  const authorization = headers.get("authorization");
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) {
    return {
      error: fail(401, "invalid_authorization_header", "Use `Authorization: Bearer <token or API key>`."),
    };
  }
  return { token: m[1]! };
}

function setBounded<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= MAX_CACHE) map.clear();
  map.set(key, value);
}

/**
 * Authenticates requests with a Clerk session token or an omni API key and maps them to an organization
 * context. Failures are values (`{ok:false, status, reason}`), never exceptions. For local development
 * wrap it: `createDevAuthenticator(DEMO_ORG_ID, createAuthenticator(deps))` (gateway/src/mcp/dev-auth.ts).
 */
export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const { db, state } = deps;
  const repos = createRepositories(db);
  const ttl = deps.cacheTtlMs ?? 30_000;
  const touchEvery = deps.lastUsedIntervalMs ?? 60_000;
  const keys = new Map<string, KeyEntry>();
  const members = new Map<string, MemberEntry>();
  const touched = new Map<string, number>();

  async function fresh(entry: { gen: number; at: number }, orgId: string): Promise<boolean> {
    return Date.now() - entry.at < ttl && entry.gen === (await state.generation(orgId));
  }

  /** The key row for a presented key (looked up by the hash of the whole key), cached per hash. */
  async function loadKey(hash: string): Promise<KeyEntry | null> {
    const cached = keys.get(hash);
    if (cached && (await fresh(cached, cached.row.organizationId))) return cached;
    keys.delete(hash);
    const row = await repos.apiKeys.findByHash(hash);
    if (!row) return null;
    const org = await repos.organizations.get(row.organizationId);
    if (!org) return null;
    const entry = { row, orgSlug: org.slug, gen: await state.generation(row.organizationId), at: Date.now() };
    setBounded(keys, hash, entry);
    return entry;
  }

  function keyProblem(row: ApiKey): AuthOutcome | null {
    if (row.revokedAt) return fail(401, "key_revoked", "This API key was revoked.");
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return fail(401, "key_expired", "This API key has expired; create a new one.");
    }
    return null;
  }

  async function authenticateKey(token: string): Promise<AuthOutcome> {
    if (!isWellFormedApiKey(token)) return fail(401, "invalid_api_key", "The API key is malformed.");
    const entry = await loadKey(hashApiKey(token));
    if (!entry) return fail(401, "invalid_api_key", "The API key is not valid.");
    const problem = keyProblem(entry.row);
    if (problem) return problem;
    const { row } = entry;
    const last = touched.get(row.id) ?? row.lastUsedAt?.getTime() ?? 0;
    if (Date.now() - last >= touchEvery) {
      setBounded(touched, row.id, Date.now());
      // At most one write per key per interval per replica; awaited so `last_used_at` is exact.
      await repos.apiKeys
        .touch(row.organizationId, row.id)
        .catch((error: unknown) =>
          deps.logger?.warn("api key last_used_at update failed", { keyId: row.id, error }),
        );
    }
    const scopes = row.scopes.filter(isPermission);
    const org: Caller["org"] = {
      orgId: row.organizationId,
      orgSlug: entry.orgSlug,
      userId: null,
      role: roleForScopes(scopes),
      permissions: scopes,
      via: "api_key",
    };
    return {
      ok: true,
      org,
      credentialId: row.id,
      ...(row.expiresAt ? { expiresAt: row.expiresAt.getTime() } : {}),
    };
  }

  async function loadMember(orgClerkId: string, userClerkId: string): Promise<MemberEntry | AuthOutcome> {
    const cacheKey = `${orgClerkId}|${userClerkId}`;
    const cached = members.get(cacheKey);
    if (cached && (await fresh(cached, cached.orgId))) return cached;
    members.delete(cacheKey);
    const [org] = await db.select().from(organizations).where(eq(organizations.clerkId, orgClerkId));
    if (!org) {
      return fail(
        403,
        "org_not_provisioned",
        "This Clerk organization is not known to Omni yet: check the Clerk webhook (POST /webhooks/clerk).",
      );
    }
    const [row] = await db
      .select({ membership: organizationMemberships })
      .from(organizationMemberships)
      .innerJoin(users, eq(users.id, organizationMemberships.userId))
      .where(and(eq(organizationMemberships.organizationId, org.id), eq(users.clerkId, userClerkId)));
    if (!row) {
      return fail(403, "not_a_member", "You are not a member of this organization in Omni.");
    }
    const gen = await state.generation(org.id);
    const entry: MemberEntry = {
      orgId: org.id,
      orgSlug: org.slug,
      userId: row.membership.userId,
      membershipId: row.membership.id,
      role: row.membership.role,
      permissions: row.membership.permissions,
      gen,
      at: Date.now(),
    };
    setBounded(members, cacheKey, entry);
    return entry;
  }

  async function authenticateClerk(token: string): Promise<AuthOutcome> {
    const verified = await verifyClerkToken(token, deps.clerk);
    if (!verified.ok) return fail(401, verified.reason, verified.message);
    const { session } = verified;
    if (!session.orgClerkId) {
      return fail(
        403,
        "no_active_organization",
        "The session has no active organization: select one in your Clerk organization switcher.",
      );
    }
    const member = await loadMember(session.orgClerkId, session.userClerkId);
    if ("ok" in member) return member;
    const org: Caller["org"] = {
      orgId: member.orgId,
      orgSlug: member.orgSlug,
      userId: member.userId,
      role: member.role,
      permissions: permissionsFor(member.role, [...member.permissions, ...session.orgPermissions]),
      via: "clerk",
    };
    return { ok: true, org, expiresAt: session.expiresAt, credentialId: member.membershipId };
  }

  const oauth = createOAuthVerifier(deps.oauth ?? {});
  const userOrgs = new Map<string, UserMemberships>();

  /** Every membership of the user with this Clerk id (cached; a membership whose org's generation moved is reloaded). */
  async function loadMemberships(userClerkId: string): Promise<UserMemberships | null> {
    const cached = userOrgs.get(userClerkId);
    if (cached && Date.now() - cached.at < ttl) {
      const gens = await Promise.all(cached.memberships.map((m) => state.generation(m.orgId)));
      if (gens.every((gen, i) => gen === cached.memberships[i]!.gen)) return cached;
    }
    userOrgs.delete(userClerkId);
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.clerkId, userClerkId));
    if (!user) return null;
    const rows = await db
      .select({ membership: organizationMemberships, slug: organizations.slug })
      .from(organizationMemberships)
      .innerJoin(organizations, eq(organizations.id, organizationMemberships.organizationId))
      .where(eq(organizationMemberships.userId, user.id))
      .orderBy(organizations.slug);
    const memberships = await Promise.all(
      rows.map(async ({ membership, slug }) => ({
        orgId: membership.organizationId,
        orgSlug: slug,
        membershipId: membership.id,
        role: membership.role,
        permissions: membership.permissions,
        gen: await state.generation(membership.organizationId),
      })),
    );
    const entry = { userId: user.id, memberships, at: Date.now() };
    setBounded(userOrgs, userClerkId, entry);
    return entry;
  }

  /** The resource an MCP request addressed, and the audiences its OAuth token may carry. */
  function audiencesFor(mcp: NonNullable<AuthRemote["mcp"]>): string[] {
    const base = deps.publicUrl ?? mcp.origin;
    const own = mcpResourceUrl(base, mcp.orgSlug);
    // An org path also takes tokens for the gateway's `/mcp` itself: the path only picks the organization.
    return mcp.orgSlug ? [own, mcpResourceUrl(base)] : [own];
  }

  /** The organization an OAuth token acts in: the only membership, or the one named by `/mcp/o/<slug>`. */
  async function oauthOrg(grant: OAuthGrant, mcp: NonNullable<AuthRemote["mcp"]>): Promise<AuthOutcome> {
    const found = await loadMemberships(grant.userClerkId);
    const memberships = found?.memberships ?? [];
    if (!found || memberships.length === 0) {
      return fail(
        403,
        "no_membership",
        "Your account is not a member of any organization in Omni: ask an organization admin to invite you.",
      );
    }
    const base = deps.publicUrl ?? mcp.origin;
    let chosen = memberships[0]!;
    if (mcp.orgSlug) {
      const named = memberships.find((m) => m.orgSlug === mcp.orgSlug);
      if (!named) {
        return fail(
          403,
          "not_a_member",
          `You are not a member of the organization "${mcp.orgSlug}" in Omni; your organizations: ${memberships.map((m) => m.orgSlug).join(", ")}.`,
        );
      }
      chosen = named;
    } else if (memberships.length > 1) {
      const slugs = memberships.map((m) => m.orgSlug);
      return fail(
        403,
        "organization_required",
        `Your account belongs to ${slugs.length} organizations (${slugs.join(", ")}): connect your MCP client to ${mcpResourceUrl(base, "<slug>")} instead, e.g. ${mcpResourceUrl(base, slugs[0])}.`,
      );
    }
    const memberPermissions = permissionsFor(chosen.role, chosen.permissions);
    // Scopes narrow, never widen: the token's Omni scopes, or (when it names none, e.g. Clerk's standard
    // `profile email`) the MCP permissions, each only where the member has it.
    const granted = grant.scopes.filter(isPermission);
    const allowed = granted.length > 0 ? granted : MCP_SCOPES;
    const permissions = memberPermissions.filter((p) => allowed.includes(p));
    const org: Caller["org"] = {
      orgId: chosen.orgId,
      orgSlug: chosen.orgSlug,
      userId: found.userId,
      role: roleForScopes(permissions),
      permissions,
      via: "oauth",
    };
    return {
      ok: true,
      org,
      credentialId: chosen.membershipId,
      ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}),
      oauth: { granted, memberPermissions },
    };
  }

  async function authenticateOAuth(token: string, remote: AuthRemote): Promise<AuthOutcome> {
    if (!remote.mcp) {
      return fail(
        401,
        "wrong_resource",
        "OAuth access tokens are accepted on the MCP endpoint (/mcp) only; use a Clerk session token or an API key here.",
      );
    }
    const verified = await oauth.verify(token, audiencesFor(remote.mcp));
    if (!verified.ok) return fail(401, verified.reason, verified.message);
    return oauthOrg(verified.grant, remote.mcp);
  }

  async function stillValidKey(keyId: string): Promise<boolean> {
    for (const entry of keys.values()) {
      if (entry.row.id === keyId && (await fresh(entry, entry.row.organizationId))) {
        return keyProblem(entry.row) === null;
      }
    }
    const [row] = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, keyId));
    return row !== undefined && keyProblem(row) === null;
  }

  async function stillValidMember(membershipId: string): Promise<boolean> {
    for (const entry of members.values()) {
      if (entry.membershipId === membershipId && (await fresh(entry, entry.orgId))) return true;
    }
    const [row] = await db
      .select({ id: organizationMemberships.id })
      .from(organizationMemberships)
      .where(eq(organizationMemberships.id, membershipId));
    return row !== undefined;
  }

  async function authenticate(headers: Headers, remote: AuthRemote): Promise<AuthOutcome> {
    try {
      const credential = credentialFrom(headers);
      if (credential === null) {
        return fail(
          401,
          "missing_credentials",
          "Send `Authorization: Bearer <Clerk token or omni API key>`.",
        );
      }
      if ("error" in credential) return credential.error;
      const orgSlug = remote.mcp?.orgSlug;
      if (looksLikeApiKey(credential.token)) {
        const outcome = await authenticateKey(credential.token);
        if (outcome.ok && orgSlug && outcome.org.orgSlug !== orgSlug) {
          return fail(
            403,
            "org_mismatch",
            `This API key belongs to the organization "${outcome.org.orgSlug}", not "${orgSlug}": use ${outcome.org.orgSlug ? `/mcp/o/${outcome.org.orgSlug}` : "/mcp"}.`,
          );
        }
        return outcome;
      }
      if (isOAuthAccessToken(credential.token)) return await authenticateOAuth(credential.token, remote);
      if (orgSlug) {
        return fail(
          401,
          "session_token_not_accepted",
          "The organization path /mcp/o/<slug> takes OAuth access tokens and API keys; send Clerk session tokens to /mcp.",
        );
      }
      return await authenticateClerk(credential.token);
    } catch (error) {
      deps.logger?.error("authentication could not be completed", { error });
      return fail(
        503,
        "dependency_unavailable",
        "The credential could not be checked: a dependency of the gateway (Redis or Postgres) is unavailable; retry shortly.",
      );
    }
  }

  return {
    authenticate,
    onRevocation: (listener) => state.onBump(listener),
    async stillValid(credentialId, expiresAt) {
      if (expiresAt !== undefined && Date.now() >= expiresAt) return false;
      if (!credentialId) return true;
      try {
        if (credentialId.startsWith("key_")) return await stillValidKey(credentialId);
        if (credentialId.startsWith("mem_")) return await stillValidMember(credentialId);
        return true;
      } catch (error) {
        deps.logger?.error("credential re-validation failed", { error });
        return false;
      }
    },
  };
}
