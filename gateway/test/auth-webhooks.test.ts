import { describe, expect, test } from "bun:test";
import { createRepositories, schema } from "@omni/db";
import { count, eq } from "drizzle-orm";
import {
  type AuthWorld,
  field,
  sessionClaims,
  signJwt,
  svixHeaders,
  useAuthWorld,
} from "./fixtures/auth-fixtures.ts";

let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

const uid = () => crypto.randomUUID().slice(0, 8);

function orgEvent(type: string, id: string, name: string, slug: string) {
  return JSON.stringify({ type, object: "event", data: { id, name, slug, object: "organization" } });
}

function userEvent(type: string, id: string, email: string) {
  return JSON.stringify({
    type,
    object: "event",
    data: {
      id,
      object: "user",
      first_name: "Ada",
      last_name: "Lovelace",
      primary_email_address_id: "idn_1",
      email_addresses: [{ id: "idn_1", email_address: email }],
    },
  });
}

function membershipEvent(
  type: string,
  org: { id: string; name: string; slug: string },
  userId: string,
  role: string,
) {
  return JSON.stringify({
    type,
    object: "event",
    data: {
      id: `orgmem_${uid()}`,
      object: "organization_membership",
      role,
      permissions: [],
      organization: org,
      public_user_data: {
        user_id: userId,
        identifier: `${userId}@example.test`,
        first_name: "Grace",
        last_name: null,
      },
    },
  });
}

async function post(payload: string, headers: Record<string, string>) {
  const { app } = world.replica();
  return app.handle(
    new Request("http://gateway.test/webhooks/clerk", { method: "POST", headers, body: payload }),
  );
}

async function deliver(payload: string, headers: Record<string, string> = svixHeaders(payload)) {
  const res = await post(payload, headers);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function eventCount() {
  const [row] = await world.db.db.select({ n: count() }).from(schema.webhookEvents);
  return row?.n ?? 0;
}

describe("Clerk webhooks", () => {
  test("organization, user and membership events are applied; the new member can then sign in", async () => {
    const repos = createRepositories(world.db.db);
    const org = { id: `org_clerk_new_${uid()}`, name: "New Co", slug: `new-co-${uid()}` };
    const userId = `user_clerk_new_${uid()}`;
    expect((await deliver(orgEvent("organization.created", org.id, org.name, org.slug))).body).toMatchObject({
      ok: true,
      outcome: "processed",
      replayed: false,
    });
    expect((await deliver(userEvent("user.created", userId, "ada@example.test"))).status).toBe(200);
    expect(
      (await deliver(membershipEvent("organizationMembership.created", org, userId, "org:admin"))).status,
    ).toBe(200);

    const saved = await repos.organizations.getByClerkId(org.id);
    expect(saved).toMatchObject({ name: "New Co", slug: org.slug });
    const user = await repos.users.getByClerkId(userId);
    expect(user).toMatchObject({ email: "ada@example.test", name: "Ada Lovelace" });
    // The first Clerk admin of an organization without an owner becomes its owner.
    expect((await repos.memberships.get(saved!.id, user!.id))?.role).toBe("owner");

    const { module } = world.replica();
    const token = signJwt(world.key.privateKey, sessionClaims(userId, org.id));
    const outcome = await module.authenticator.authenticate(
      new Headers({ authorization: `Bearer ${token}` }),
      {
        loopback: false,
      },
    );
    expect(outcome.ok && outcome.org.orgId).toBe(saved!.id);

    // Updates apply; deleting the membership takes access away at once.
    expect((await deliver(orgEvent("organization.updated", org.id, "Renamed Co", org.slug))).status).toBe(
      200,
    );
    expect((await repos.organizations.getByClerkId(org.id))?.name).toBe("Renamed Co");
    expect(
      (await deliver(membershipEvent("organizationMembership.deleted", org, userId, "org:admin"))).status,
    ).toBe(200);
    const after = await module.authenticator.authenticate(new Headers({ authorization: `Bearer ${token}` }), {
      loopback: false,
    });
    expect(after.ok ? "ok" : after.reason).toBe("not_a_member");

    expect(
      (await deliver(JSON.stringify({ type: "user.deleted", data: { id: userId, deleted: true } }))).status,
    ).toBe(200);
    expect(await repos.users.getByClerkId(userId)).toBeNull();
    expect(
      (await deliver(JSON.stringify({ type: "organization.deleted", data: { id: org.id, deleted: true } })))
        .status,
    ).toBe(200);
    expect(await repos.organizations.getByClerkId(org.id)).toBeNull();
  });

  test("a replayed svix-id changes nothing", async () => {
    const repos = createRepositories(world.db.db);
    const org = { id: `org_clerk_replay_${uid()}`, name: "Replay Co", slug: `replay-${uid()}` };
    const payload = orgEvent("organization.created", org.id, org.name, org.slug);
    const headers = svixHeaders(payload);
    expect((await deliver(payload, headers)).body).toMatchObject({ ok: true, replayed: false });
    // Someone renames it in between; the replay of the old event must not undo that.
    await repos.organizations.update((await repos.organizations.getByClerkId(org.id))!.id, {
      name: "Edited",
    });
    const before = await eventCount();
    const replay = await deliver(payload, headers);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ ok: true, replayed: true, outcome: "processed" });
    expect((await repos.organizations.getByClerkId(org.id))?.name).toBe("Edited");
    expect(await eventCount()).toBe(before);
    const [stored] = await world.db.db
      .select()
      .from(schema.webhookEvents)
      .where(eq(schema.webhookEvents.svixId, headers["svix-id"]));
    expect(stored).toMatchObject({ type: "organization.created", outcome: "processed" });
  });

  const rejected: [string, () => { payload: string; headers: Record<string, string> }][] = [
    [
      "tampered body",
      () => {
        const payload = orgEvent("organization.created", `org_clerk_t_${uid()}`, "T", `t-${uid()}`);
        return { payload: payload.replace('"T"', '"Tampered"'), headers: svixHeaders(payload) };
      },
    ],
    [
      "wrong secret",
      () => {
        const payload = orgEvent("organization.created", `org_clerk_w_${uid()}`, "W", `w-${uid()}`);
        const secret = `whsec_${Buffer.from("another-secret-another-secret-xx").toString("base64")}`;
        return { payload, headers: svixHeaders(payload, { secret }) };
      },
    ],
    [
      "timestamp older than 5 minutes",
      () => {
        const payload = orgEvent("organization.created", `org_clerk_o_${uid()}`, "O", `o-${uid()}`);
        return { payload, headers: svixHeaders(payload, { at: new Date(Date.now() - 6 * 60_000) }) };
      },
    ],
    [
      "missing signature headers",
      () => ({
        payload: orgEvent("organization.created", `org_clerk_m_${uid()}`, "M", `m-${uid()}`),
        headers: {},
      }),
    ],
  ];
  for (const [name, make] of rejected) {
    test(`${name} → 400, nothing written`, async () => {
      const { payload, headers } = make();
      const before = await eventCount();
      const res = await deliver(payload, headers);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("invalid_signature");
      expect(await eventCount()).toBe(before);
      const id = (JSON.parse(payload) as { data: { id: string } }).data.id;
      expect(await createRepositories(world.db.db).organizations.getByClerkId(id)).toBeNull();
    });
  }

  test("unknown event types and invalid data are stored as ignored, with the reason", async () => {
    const unknown = JSON.stringify({ type: "session.created", data: { id: "sess_1" } });
    expect((await deliver(unknown)).body).toMatchObject({ ok: true, outcome: "ignored" });
    const invalid = JSON.stringify({ type: "organization.created", data: { id: 42 } });
    const headers = svixHeaders(invalid);
    expect((await deliver(invalid, headers)).body).toMatchObject({ ok: true, outcome: "ignored" });
    const [stored] = await world.db.db
      .select()
      .from(schema.webhookEvents)
      .where(eq(schema.webhookEvents.svixId, headers["svix-id"]));
    expect(stored?.error).toContain("organization.created: invalid id");
  });

  test("without a signing secret the endpoint refuses with 503", async () => {
    const { app } = world.replica({ CLERK_WEBHOOK_SIGNING_SECRET: "" });
    const payload = unknownPayload();
    const res = await app.handle(
      new Request("http://gateway.test/webhooks/clerk", {
        method: "POST",
        headers: svixHeaders(payload),
        body: payload,
      }),
    );
    expect(res.status).toBe(503);
    expect(field(await res.json(), "error")).toBe("webhooks_not_configured");
  });
});

function unknownPayload() {
  return JSON.stringify({ type: "session.created", data: { id: "sess_2" } });
}
