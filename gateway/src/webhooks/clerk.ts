import type { Role } from "@omni/contracts";
import { ConflictError, createRepositories, type Database, type Repositories } from "@omni/db";
import { Elysia } from "elysia";
import { Webhook } from "svix";
import * as v from "valibot";
import { roleFromClerk } from "../auth/permissions.ts";
import type { AuthState } from "../auth/state.ts";
import type { Logger } from "../security/log.ts";

/**
 * `POST /webhooks/clerk`: Clerk events delivered by Svix. The signature (and a timestamp within 5 minutes)
 * is verified before anything is read or written; each event is recorded in `webhook_events` by its Svix
 * id and applied in the same transaction, so a redelivered id changes nothing.
 */
export interface ClerkWebhookDeps {
  db: Database;
  /** `CLERK_WEBHOOK_SIGNING_SECRET` (`whsec_...`). Without it the route answers 503. */
  signingSecret?: string;
  /** Bumped for every organization an event touches (drops cached credentials on every replica). */
  state: AuthState;
  logger?: Logger;
}

const ClerkEvent = v.object({
  type: v.string(),
  data: v.record(v.string(), v.unknown()),
});

const UserData = v.object({
  id: v.string(),
  email_addresses: v.optional(v.array(v.object({ id: v.string(), email_address: v.string() })), []),
  primary_email_address_id: v.optional(v.nullable(v.string())),
  first_name: v.optional(v.nullable(v.string())),
  last_name: v.optional(v.nullable(v.string())),
});

const DeletedData = v.object({ id: v.optional(v.string()) });

const OrgData = v.object({ id: v.string(), name: v.string(), slug: v.optional(v.nullable(v.string())) });

const MembershipData = v.object({
  id: v.string(),
  role: v.string(),
  permissions: v.optional(v.array(v.string()), []),
  organization: OrgData,
  public_user_data: v.object({
    user_id: v.string(),
    identifier: v.optional(v.nullable(v.string())),
    first_name: v.optional(v.nullable(v.string())),
    last_name: v.optional(v.nullable(v.string())),
  }),
});

type Applied = { outcome: "processed" | "ignored"; orgIds: string[]; note?: string };

/** A validation failure of a known event type: recorded as `ignored` with the reason. */
class BadEvent extends Error {}

function parse<S extends v.GenericSchema>(schema: S, data: unknown, type: string): v.InferOutput<S> {
  const result = v.safeParse(schema, data);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue ? v.getDotPath(issue) : null;
    throw new BadEvent(`${type}: invalid ${path ?? "data"}: ${issue?.message ?? "unexpected shape"}`);
  }
  return result.output;
}

function fullName(first?: string | null, last?: string | null): string | null {
  const name = [first, last].filter(Boolean).join(" ").trim();
  return name || null;
}

function slugify(slug: string | null | undefined, name: string, clerkId: string): string {
  const base = (slug ?? name)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return base || clerkId.toLowerCase();
}

async function upsertOrg(repos: Repositories, data: v.InferOutput<typeof OrgData>) {
  const slug = slugify(data.slug, data.name, data.id);
  try {
    return await repos.organizations.upsertByClerkId({ clerkId: data.id, slug, name: data.name });
  } catch (error) {
    if (!(error instanceof ConflictError) || error.constraint !== "organizations_slug_unique") throw error;
    // Another organization (not from this Clerk org) has the slug: keep the Clerk org distinct.
    return repos.organizations.upsertByClerkId({
      clerkId: data.id,
      slug: `${slug}-${data.id.slice(-6).toLowerCase()}`,
      name: data.name,
    });
  }
}

async function applyEvent(repos: Repositories, type: string, data: unknown): Promise<Applied> {
  switch (type) {
    case "user.created":
    case "user.updated": {
      const user = parse(UserData, data, type);
      const primary =
        user.email_addresses.find((e) => e.id === user.primary_email_address_id) ?? user.email_addresses[0];
      const saved = await repos.users.upsertByClerkId({
        clerkId: user.id,
        email: primary?.email_address ?? "",
        name: fullName(user.first_name, user.last_name),
      });
      const orgIds = (await repos.memberships.listForUser(saved.id)).map((m) => m.organizationId);
      return { outcome: "processed", orgIds };
    }
    case "user.deleted": {
      const { id } = parse(DeletedData, data, type);
      const user = id ? await repos.users.getByClerkId(id) : null;
      if (!user) return { outcome: "ignored", orgIds: [], note: "unknown user" };
      const orgIds = (await repos.memberships.listForUser(user.id)).map((m) => m.organizationId);
      await repos.users.delete(user.id);
      return { outcome: "processed", orgIds };
    }
    case "organization.created":
    case "organization.updated": {
      const org = await upsertOrg(repos, parse(OrgData, data, type));
      return { outcome: "processed", orgIds: [org.id] };
    }
    case "organization.deleted": {
      const { id } = parse(DeletedData, data, type);
      const org = id ? await repos.organizations.getByClerkId(id) : null;
      if (!org) return { outcome: "ignored", orgIds: [], note: "unknown organization" };
      await repos.organizations.delete(org.id);
      return { outcome: "processed", orgIds: [org.id] };
    }
    case "organizationMembership.created":
    case "organizationMembership.updated": {
      const m = parse(MembershipData, data, type);
      const org = await upsertOrg(repos, m.organization);
      let user = await repos.users.getByClerkId(m.public_user_data.user_id);
      if (!user) {
        user = await repos.users.upsertByClerkId({
          clerkId: m.public_user_data.user_id,
          email: m.public_user_data.identifier ?? "",
          name: fullName(m.public_user_data.first_name, m.public_user_data.last_name),
        });
      }
      const clerkRole = roleFromClerk(m.role) ?? "member";
      const existing = await repos.memberships.get(org.id, user.id);
      if (existing) {
        // Clerk's default roles are admin/member: an Omni owner stays owner while Clerk says admin.
        const role: Role = existing.role === "owner" && clerkRole === "admin" ? "owner" : clerkRole;
        await repos.memberships.update(org.id, user.id, { role, permissions: m.permissions });
      } else {
        const members = await repos.memberships.list(org.id);
        // The first Clerk admin of an organization without an owner becomes its owner.
        const role: Role =
          clerkRole === "admin" && !members.some((x) => x.role === "owner") ? "owner" : clerkRole;
        await repos.memberships.add(org.id, { userId: user.id, role, permissions: m.permissions });
      }
      return { outcome: "processed", orgIds: [org.id] };
    }
    case "organizationMembership.deleted": {
      const m = parse(MembershipData, data, type);
      const org = await repos.organizations.getByClerkId(m.organization.id);
      const user = await repos.users.getByClerkId(m.public_user_data.user_id);
      if (!org || !user) return { outcome: "ignored", orgIds: [], note: "unknown organization or user" };
      const removed = await repos.memberships.remove(org.id, user.id);
      return removed
        ? { outcome: "processed", orgIds: [org.id] }
        : { outcome: "ignored", orgIds: [org.id], note: "no such membership" };
    }
    default:
      return { outcome: "ignored", orgIds: [], note: `event type ${type} is not used` };
  }
}

export interface WebhookResult {
  status: 200 | 400 | 500 | 503;
  body: { ok: boolean; outcome?: string; replayed?: boolean; error?: string; message?: string };
}

/** Verifies and applies one delivery (the route's body; callable directly from tests and tools). */
export async function handleClerkWebhook(
  deps: ClerkWebhookDeps,
  payload: string,
  headers: Headers,
): Promise<WebhookResult> {
  if (!deps.signingSecret) {
    return {
      status: 503,
      body: { ok: false, error: "webhooks_not_configured", message: "Set CLERK_WEBHOOK_SIGNING_SECRET." },
    };
  }
  const svixId = headers.get("svix-id") ?? "";
  let verified: unknown;
  try {
    verified = new Webhook(deps.signingSecret).verify(payload, {
      "svix-id": svixId,
      "svix-timestamp": headers.get("svix-timestamp") ?? "",
      "svix-signature": headers.get("svix-signature") ?? "",
    });
  } catch (error) {
    return {
      status: 400,
      body: {
        ok: false,
        error: "invalid_signature",
        message: `Webhook rejected: ${error instanceof Error ? error.message : "signature check failed"}`,
      },
    };
  }
  const event = v.safeParse(ClerkEvent, verified);
  if (!event.success) {
    return { status: 400, body: { ok: false, error: "invalid_event", message: "Expected {type, data}." } };
  }
  const { type, data } = event.output;
  const repos = createRepositories(deps.db);
  try {
    const result = await repos.transaction(async (tx) => {
      const { event: row, duplicate } = await tx.webhooks.record({ svixId, type, payload: verified });
      if (duplicate && row.outcome !== "failed") return { replayed: true, outcome: row.outcome, orgIds: [] };
      let applied: Applied;
      try {
        applied = await applyEvent(tx, type, data);
      } catch (error) {
        if (!(error instanceof BadEvent)) throw error;
        applied = { outcome: "ignored", orgIds: [], note: error.message };
      }
      await tx.webhooks.finish(row.id, applied.outcome, applied.note ?? null);
      return { replayed: false, outcome: applied.outcome, orgIds: applied.orgIds };
    });
    for (const orgId of new Set(result.orgIds)) await deps.state.bump(orgId);
    deps.logger?.info("clerk webhook", { svixId, type, outcome: result.outcome, replayed: result.replayed });
    return { status: 200, body: { ok: true, outcome: result.outcome, replayed: result.replayed } };
  } catch (error) {
    deps.logger?.error("clerk webhook failed", { svixId, type, error });
    // Recorded as failed (outside the rolled-back transaction) so Svix's retry is processed again.
    await repos.webhooks
      .record({ svixId, type, payload: verified })
      .then(({ event: row }) =>
        repos.webhooks.finish(row.id, "failed", error instanceof Error ? error.message : String(error)),
      )
      .catch(() => {});
    return {
      status: 500,
      body: { ok: false, error: "webhook_failed", message: "The event could not be applied." },
    };
  }
}

export function clerkWebhookRoutes(deps: ClerkWebhookDeps) {
  return new Elysia().post(
    "/webhooks/clerk",
    async ({ request, status }) => {
      const result = await handleClerkWebhook(deps, await request.text(), request.headers);
      return status(result.status, result.body);
    },
    { parse: "none" },
  );
}
