import { expect, test } from "bun:test";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories } from "@omni/db";
import { createApiKey } from "../src/auth/api-keys.ts";
import { type AuthWorld, call, errorCode, useAuthWorld } from "./fixtures/auth-fixtures.ts";

/**
 * Issue 11 item 8: the last-owner rule holds under concurrent demotions and removals on two replicas
 * (each its own auth module over the shared Postgres): the owners' rows are locked for the change.
 */
let world: AuthWorld;
useAuthWorld((w) => {
  world = w;
});

test("10 concurrent demotion races of an org's two owners on two replicas always leave one owner", async () => {
  const repos = createRepositories(world.db.db);
  const org = world.a;
  const key = (await createApiKey(repos, org.id, null, { name: "races", scopes: [...PERMISSIONS] })).secret;
  const [one, two] = [world.replica(), world.replica()];
  for (let round = 0; round < 10; round++) {
    await repos.memberships.update(org.id, org.owner.userId, { role: "owner" });
    await repos.memberships.update(org.id, org.admin.userId, { role: "owner" });
    const demote = (replica: typeof one, membershipId: string) =>
      call(replica.app, "PATCH", `/api/members/${membershipId}`, { apiKey: key, body: { role: "admin" } });
    const results = await Promise.all([
      demote(one, org.owner.membershipId),
      demote(two, org.admin.membershipId),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(`round ${round}: ${statuses.join(",")}`).toBe(`round ${round}: 200,409`);
    expect(errorCode(results.find((r) => r.status === 409)?.body)).toBe("last_owner");
    const owners = (await repos.memberships.list(org.id)).filter((m) => m.role === "owner");
    expect(`round ${round}: ${owners.length} owner(s)`).toBe(`round ${round}: 1 owner(s)`);
  }
  // Removal races too: one of two concurrent removals of the two owners is refused.
  await repos.memberships.update(org.id, org.owner.userId, { role: "owner" });
  await repos.memberships.update(org.id, org.admin.userId, { role: "owner" });
  const removals = await Promise.all([
    call(one.app, "DELETE", `/api/members/${org.owner.membershipId}`, { apiKey: key }),
    call(two.app, "DELETE", `/api/members/${org.admin.membershipId}`, { apiKey: key }),
  ]);
  expect(removals.map((r) => r.status).sort()).toEqual([200, 409]);
  const owners = (await repos.memberships.list(org.id)).filter((m) => m.role === "owner");
  expect(owners.length).toBe(1);
}, 60_000);
