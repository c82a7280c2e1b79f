import { expect, test } from "bun:test";
import { createDevAuthenticator, isLoopbackHost } from "./dev-auth.ts";

test("dev mode: no credentials on loopback act as the demo org; otherwise refused", async () => {
  const auth = createDevAuthenticator("org_demo");
  const ok = await auth.authenticate(new Headers(), { loopback: true });
  expect(ok).toMatchObject({ ok: true, org: { orgId: "org_demo", via: "dev", role: "owner" } });
  expect(await auth.authenticate(new Headers(), { loopback: false })).toMatchObject({
    ok: false,
    status: 401,
  });
  expect(await auth.authenticate(new Headers({ "x-api-key": "k" }), { loopback: true })).toMatchObject({
    ok: false,
    reason: "credentials_not_supported",
  });
});

test("credentials go to the next authenticator when composed", async () => {
  const next = createDevAuthenticator("org_other");
  const auth = createDevAuthenticator("org_demo", {
    authenticate: async () => ({
      ok: true,
      org: { orgId: "org_key", userId: null, role: "member", permissions: [], via: "api_key" },
    }),
    stillValid: async () => false,
  });
  expect(
    await auth.authenticate(new Headers({ authorization: "Bearer x" }), { loopback: false }),
  ).toMatchObject({
    ok: true,
    org: { orgId: "org_key" },
  });
  expect(await auth.stillValid("cred", undefined)).toBe(false);
  expect(await next.stillValid(undefined, undefined)).toBe(true);
});

test("loopback listen addresses", () => {
  for (const host of ["127.0.0.1", "localhost", "::1", "127.1.2.3"]) expect(isLoopbackHost(host)).toBe(true);
  for (const host of ["0.0.0.0", "10.0.0.1", "::"]) expect(isLoopbackHost(host)).toBe(false);
});
