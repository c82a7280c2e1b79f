import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRepositories } from "@omni/db";
import { Elysia } from "elysia";
import { adminConfigRoutes } from "../src/admin/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { type AuthWorld, call, createAuthWorld, field } from "./fixtures/auth-fixtures.ts";

/**
 * The config admin API (prompts) behind this module's org resolver and audit log: members cannot do admin
 * writes, org A cannot read or change org B's prompts, and writes land in A's verified audit chain.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
let world: AuthWorld;
let config: ReturnType<typeof createConfigService>;
let app: { handle(request: Request): Promise<Response> };
let bPromptId: string;

beforeAll(async () => {
  world = await createAuthWorld();
  const { module } = world.replica();
  config = createConfigService({ db: world.db.db, logger: quiet });
  app = new Elysia().use(
    adminConfigRoutes({ db: world.db.db, config, audit: module.audit, resolveOrg: module.resolveOrg }),
  );
  const created = await createRepositories(world.db.db).prompts.create(world.b.id, {
    serverId: null,
    name: "b_only",
    messages: [{ role: "user", text: "b's secret prompt" }],
  });
  bPromptId = created.id;
}, 60_000);
// Dropping the test database can take longer than the default 5 s hook timeout on a loaded machine.
afterAll(async () => {
  await config?.close();
  await world?.close();
}, 60_000);

const prompt = (name: string) => ({
  name,
  messages: [{ role: "user", text: "hello {{who}}" }],
  arguments: [{ name: "who" }],
});

describe("config admin API behind the org resolver", () => {
  test("no credentials → 401; a member cannot write prompts; an admin can", async () => {
    expect((await call(app, "GET", "/api/prompts")).status).toBe(401);
    const member = await call(app, "POST", "/api/prompts", {
      token: world.token(world.a, world.a.member),
      body: prompt("member_try"),
    });
    expect(member.status).toBe(403);
    const admin = await call(app, "POST", "/api/prompts", {
      token: world.token(world.a, world.a.admin),
      body: prompt("admin_made"),
    });
    expect(admin.status).toBe(201);
  });

  test("org A's admin cannot see, change or delete org B's prompt", async () => {
    const token = world.token(world.a, world.a.admin);
    const list = await call(app, "GET", "/api/prompts", { token });
    expect(JSON.stringify(list.body)).not.toContain("b_only");
    const patch = await call(app, "PATCH", `/api/prompts/${bPromptId}`, { token, body: { title: "pwned" } });
    expect(patch.status).toBe(404);
    const del = await call(app, "DELETE", `/api/prompts/${bPromptId}`, { token });
    expect(del.status).toBe(404);
    const stored = await createRepositories(world.db.db).prompts.get(world.b.id, bPromptId);
    expect(stored?.title ?? null).toBeNull();
  });

  test("admin writes land in the org's audit chain, which verifies", async () => {
    const res = await call(app, "POST", "/api/prompts", {
      token: world.token(world.a, world.a.admin),
      body: prompt("audited_prompt"),
    });
    expect(res.status).toBe(201);
    const rows = await createRepositories(world.db.db).audit.list(world.a.id, { limit: 100 });
    const made = rows.find(
      (r) => r.action.startsWith("prompt") && JSON.stringify(r.after).includes("admin_made"),
    );
    expect(made?.actor).toBe(world.a.admin.userId);
    const { module } = world.replica();
    expect(await module.audit.verify(world.a.id)).toMatchObject({ ok: true });
    expect(field(await module.audit.verify(world.b.id), "checked")).toBe(0);
  });
});
