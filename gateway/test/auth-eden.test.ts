import { expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { type AuthWorld, useAuthWorld } from "./fixtures/auth-fixtures.ts";

/** The auth admin API through Eden treaty (in-process): typed bodies and typed errors. */
let world: AuthWorld;
useAuthWorld((created) => {
  world = created;
});

test("Eden: create a key, list it, revoke it, verify the audit chain", async () => {
  const api = treaty(world.replica().app);
  const headers = { authorization: `Bearer ${world.token(world.a, world.a.owner)}` };
  const created = await api.api.keys.post({ name: "eden", scopes: ["tools:call"] }, { headers });
  expect(created.status).toBe(201);
  const secret: string | undefined = created.data?.secret;
  const keyId: string | undefined = created.data?.key.id;
  expect(secret).toStartWith("omni_sk_");
  const listed = await api.api.keys.get({ headers });
  const prefixes: string[] = (listed.data ?? []).map((k) => k.prefix);
  expect(prefixes).toContain(created.data!.key.prefix);
  const revoked = await api.api.keys({ id: keyId! }).delete(undefined, { headers });
  // Eden turns ISO strings into Dates on the client.
  expect(revoked.data?.revokedAt).toBeTruthy();
  const missing = await api.api.keys({ id: "key_nope" }).delete(undefined, { headers });
  expect(missing.error?.status).toBe(404);
  const verify = await api.api.audit.verify.get({ headers });
  const ok: boolean | undefined = verify.data?.ok;
  expect(ok).toBe(true);
  const denied = await api.api.members.get({
    headers: { authorization: `Bearer ${world.token(world.a, world.a.member)}` },
  });
  expect(denied.error?.status).toBe(403);
});
