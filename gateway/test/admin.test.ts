import { afterAll, describe, expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import type { OrgContext, PromptTemplate } from "@omni/contracts";
import { DEMO_ORG_ID, DEMO_USER_ID, schema } from "@omni/db";
import { Elysia } from "elysia";
import { adminConfigRoutes, devOrgResolver, type OrgResolver } from "../src/admin/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { createOrg, newKey, openDatabase, openRedis, silentLogger } from "./config-fixtures.ts";

const db = await openDatabase();
const { redis, prefix, cleanup } = openRedis();
const config = createConfigService({
  db: db.db,
  redis,
  secretKeys: [newKey()],
  cache: { prefix },
  logger: silentLogger,
});
const orgB = await createOrg(db.db, "admin-test-b");

const code = new Map<string, PromptTemplate[]>([
  ["linear", [{ name: "code_prompt", messages: [{ role: "user", text: "from code" }] }]],
]);

/** Test resolver: `x-test-org: b` acts for org B, `x-test-role: member` as a plain member, `anonymous` refuses. */
const resolveOrg: OrgResolver = ({ request }) => {
  const base = devOrgResolver({ request }) as OrgContext;
  const h = request.headers;
  if (h.get("x-test-org") === "anonymous") return { status: 401, message: "sign in first" };
  const org = h.get("x-test-org") === "b" ? { ...base, orgId: orgB.orgId, userId: orgB.userId } : base;
  if (h.get("x-test-role") === "member")
    return { ...org, role: "member", permissions: ["prompts:read", "tools:call"] };
  if (h.get("x-test-user") === "none") return { ...org, userId: null, via: "api_key" };
  return org;
};

const app = new Elysia().use(
  adminConfigRoutes({ db: db.db, config, codePrompts: () => code, resolveOrg, logger: silentLogger }),
);
const api = treaty(app).api;
const asB = { headers: { "x-test-org": "b" } };

async function countRows(table: "organizationPrompts" | "organizationResources"): Promise<number> {
  return (await db.db.select().from(schema[table])).length;
}

afterAll(async () => {
  await config.close();
  await cleanup();
  await db.close();
});

const newPrompt = {
  name: "release_notes",
  description: "Draft release notes",
  arguments: [
    { name: "version", required: true },
    { name: "audience", enum: ["users", "developers"], default: "users" },
  ],
  messages: [
    { role: "user" as const, text: "Write release notes for {{version}} aimed at {{audience}}." },
    { role: "assistant" as const, text: "Which changes matter most to {{audience}}?" },
  ],
};

describe("admin API: prompts", () => {
  test("lists defaults, code prompts and own prompts with their source", async () => {
    const { data, error } = await api.prompts.get();
    expect(error).toBeNull();
    const triage = data!.prompts.find((p) => p.name === "linear_triage_issues")!;
    expect(triage).toMatchObject({
      id: null,
      server: "linear",
      source: "default",
      disabled: false,
      visible: true,
    });
    expect(data!.prompts.find((p) => p.name === "code_prompt")).toMatchObject({
      source: "code",
      visible: true,
    });
  });

  test("create → served by the config service; update; delete", async () => {
    const created = await api.prompts.post(newPrompt);
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ name: "release_notes", server: null, source: "org", visible: true });
    const id = created.data!.id!;

    const rendered = await config.getPrompt(DEMO_ORG_ID, "release_notes", { version: "2.0" }, code);
    expect(rendered.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(rendered.messages[0]!.content).toEqual({
      type: "text",
      text: "Write release notes for 2.0 aimed at users.",
    });

    const updated = await api.prompts({ id }).patch({ description: "Draft the notes" });
    expect(updated.data?.description).toBe("Draft the notes");
    expect(
      (await config.catalog(DEMO_ORG_ID, code)).prompts.find((p) => p.name === "release_notes")?.description,
    ).toBe("Draft the notes");

    const dup = await api.prompts.post(newPrompt);
    expect(dup.status).toBe(409);
    expect(dup.error?.value).toMatchObject({ error: { code: "conflict" } });

    expect((await api.prompts({ id }).delete()).data).toEqual({ ok: true });
    expect((await api.prompts({ id }).delete()).status).toBe(404);
    expect((await config.catalog(DEMO_ORG_ID, code)).prompts.some((p) => p.name === "release_notes")).toBe(
      false,
    );
  });

  test("a failed validation writes nothing and names the field", async () => {
    const before = await countRows("organizationPrompts");
    const unknownPlaceholder = await api.prompts.post({
      ...newPrompt,
      messages: [{ role: "user", text: "Hello {{nobody}}" }],
    });
    expect(unknownPlaceholder.status).toBe(422);
    expect(unknownPlaceholder.error?.value).toMatchObject({
      error: { code: "invalid", details: { field: "messages.0.text" } },
    });

    const badName = await api.prompts.post({ ...newPrompt, name: "has spaces" });
    expect(badName.status).toBe(422);
    expect(badName.error?.value).toMatchObject({ error: { details: { field: "name" } } });

    const noMessages = await api.prompts.post({ ...newPrompt, messages: [] });
    expect(noMessages.status).toBe(422);
    expect(noMessages.error?.value).toMatchObject({ error: { details: { field: "messages" } } });

    const clash = await api.prompts.post({ ...newPrompt, name: "linear_triage_issues" });
    expect(clash.status).toBe(409);

    const malformed = await app.handle(
      new Request("http://localhost/api/prompts", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      }),
    );
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: "bad_request" } });
    expect(await countRows("organizationPrompts")).toBe(before);
  });

  test("override, disable, re-enable and revert a default", async () => {
    const route = api.prompts.defaults({ server: "linear" })({ name: "linear_triage_issues" });
    const overridden = await route.put({ description: "Our triage" });
    expect(overridden.data).toMatchObject({ source: "override", description: "Our triage", visible: true });
    expect(overridden.data!.messages.length).toBeGreaterThan(0);

    const badOverride = await route.put({ messages: [{ role: "user", text: "{{undeclared}}" }] });
    expect(badOverride.status).toBe(422);

    expect((await route.disable.post()).data).toMatchObject({ disabled: true, visible: false });
    expect(
      (await config.catalog(DEMO_ORG_ID, code)).prompts.some((p) => p.name === "linear_triage_issues"),
    ).toBe(false);
    expect((await route.enable.post()).data).toMatchObject({
      disabled: false,
      visible: true,
      description: "Our triage",
    });

    const reverted = await route.delete();
    expect(reverted.data).toMatchObject({ id: null, source: "default" });
    expect(reverted.data!.description).not.toBe("Our triage");
    expect((await route.delete()).status).toBe(404);

    const code404 = await api.prompts.defaults({ server: "linear" })({ name: "nope" }).disable.post();
    expect(code404.status).toBe(404);
    // Code-declared prompts can be overridden too.
    const codeOverride = await api.prompts
      .defaults({ server: "linear" })({ name: "code_prompt" })
      .put({ title: "Ours" });
    expect(codeOverride.data).toMatchObject({ source: "override", title: "Ours" });
    await api.prompts.defaults({ server: "linear" })({ name: "code_prompt" }).delete();
  });

  test("prompts with non-text content: stored, listed, rendered, and their placeholders checked", async () => {
    const withContent = {
      name: "attach_doc",
      arguments: [{ name: "uri", required: true }],
      messages: [
        {
          role: "user" as const,
          text: "Document {{uri}}",
          content: {
            type: "resource" as const,
            resource: { uri: "{{uri}}", mimeType: "text/plain", text: "Read \\{{this}} at {{ uri }}" },
          },
        },
        {
          role: "user" as const,
          text: "(image)",
          content: { type: "image" as const, data: "iVBORw0K", mimeType: "image/png" },
        },
      ],
    };
    const before = await countRows("organizationPrompts");
    const bad = await api.prompts.post({
      ...withContent,
      name: "attach_bad",
      messages: [
        { role: "user", text: "ok", content: { type: "resource_link", uri: "{{where}}", name: "doc" } },
      ],
    });
    expect(bad.status).toBe(422);
    expect(bad.error?.value).toMatchObject({
      error: { code: "invalid", details: { field: "messages.0.content.uri" } },
    });
    const badShape = await api.prompts.post({
      ...withContent,
      name: "attach_bad",
      messages: [{ role: "user", text: "ok", content: { type: "image", data: "x" } }],
    } as unknown as typeof withContent);
    expect(badShape.status).toBe(422);
    expect(await countRows("organizationPrompts")).toBe(before);

    const created = await api.prompts.post(withContent);
    expect(created.status).toBe(201);
    const listed = (await api.prompts.get()).data!.prompts.find((p) => p.name === "attach_doc")!;
    expect(listed.messages[0]!.content).toEqual(withContent.messages[0]!.content);

    const rendered = await config.getPrompt(DEMO_ORG_ID, "attach_doc", { uri: "test://doc" }, code);
    expect(rendered.messages.map((m) => m.content)).toEqual([
      {
        type: "resource",
        resource: { uri: "test://doc", mimeType: "text/plain", text: "Read {{this}} at test://doc" },
      },
      { type: "image", data: "iVBORw0K", mimeType: "image/png" },
    ]);
    const preview = await api.prompts.preview.post({ name: "attach_doc", arguments: { uri: "x://y" } });
    expect(preview.data?.messages[0]?.content).toMatchObject({
      type: "resource",
      resource: { uri: "x://y" },
    });

    const overrideBad = await api.prompts({ id: created.data!.id! }).patch({
      messages: [
        { role: "user", text: "ok", content: { type: "image", data: "{{nope}}", mimeType: "image/png" } },
      ],
    });
    expect(overrideBad.status).toBe(422);
    expect(overrideBad.error?.value).toMatchObject({
      error: { details: { field: "messages.0.content.data" } },
    });
    expect((await api.prompts({ id: created.data!.id! }).delete()).data).toEqual({ ok: true });
  });

  test("preview renders a prompt by name or an unsaved template", async () => {
    const byName = await api.prompts.preview.post({
      name: "linear_triage_issues",
      arguments: { team: "OPS" },
    });
    expect(JSON.stringify(byName.data)).toContain('team \\"OPS\\"');
    const missing = await api.prompts.preview.post({ name: "linear_triage_issues", arguments: {} });
    expect(missing.status).toBe(422);
    expect(missing.error?.value).toMatchObject({ error: { details: { field: "arguments.team" } } });
    const unsaved = await api.prompts.preview.post({
      template: {
        name: "draft",
        arguments: [{ name: "x" }],
        messages: [{ role: "user", text: "x=\\{{x}} {{x}}" }],
      },
      arguments: { x: "1" },
    });
    expect(unsaved.data?.messages[0]?.content).toEqual({ type: "text", text: "x={{x}} 1" });
  });
});

describe("admin API: resources", () => {
  test("create own text and blob resources, read them through the config service, update, delete", async () => {
    const text = await api.resources.post({
      uri: "org://handbook",
      name: "handbook",
      mimeType: "text/markdown",
      text: "# Hi",
    });
    expect(text.status).toBe(201);
    expect(await config.readResource(DEMO_ORG_ID, "org://handbook")).toEqual({
      contents: [{ uri: "org://handbook", mimeType: "text/markdown", text: "# Hi" }],
    });
    const blob = await api.resources.post({
      uri: "org://logo",
      name: "logo",
      mimeType: "image/png",
      blob: "iVBORw0KGgo=",
    });
    expect(blob.data).toMatchObject({ blob: "iVBORw0KGgo=", size: 8 });

    const toBlob = await api.resources({ id: text.data!.id! }).patch({ blob: "AAEC" });
    expect(toBlob.data).toMatchObject({ blob: "AAEC" });
    expect(toBlob.data?.text).toBeUndefined();

    for (const id of [text.data!.id!, blob.data!.id!])
      expect((await api.resources({ id }).delete()).status).toBe(200);
    expect(await config.readResource(DEMO_ORG_ID, "org://handbook")).toBeNull();
  });

  test("invalid resources write nothing", async () => {
    const before = await countRows("organizationResources");
    const both = await api.resources.post({ uri: "org://x", name: "x", text: "a", blob: "AAEC" });
    expect(both.status).toBe(422);
    const none = await api.resources.post({ uri: "org://x", name: "x" });
    expect(none.error?.value).toMatchObject({ error: { details: { field: "text" } } });
    const badUri = await api.resources.post({ uri: "no scheme", name: "x", text: "a" });
    expect(badUri.error?.value).toMatchObject({ error: { details: { field: "uri" } } });
    expect(await countRows("organizationResources")).toBe(before);
  });

  test("override and disable a default resource", async () => {
    const listed = await api.resources.get();
    const first = listed.data!.resources.find((r) => r.source === "default")!;
    const overridden = await api.resources.override.put({ uri: first.uri, text: "our version" });
    expect(overridden.data).toMatchObject({ source: "override", text: "our version", name: first.name });
    expect((await config.readResource(DEMO_ORG_ID, first.uri))?.contents[0]).toMatchObject({
      text: "our version",
    });

    expect((await api.resources.disable.post({ uri: first.uri })).data).toMatchObject({
      disabled: true,
      visible: false,
    });
    expect(await config.readResource(DEMO_ORG_ID, first.uri)).toBeNull();
    expect((await api.resources.enable.post({ uri: first.uri })).data).toMatchObject({ visible: true });
    await api.resources({ id: overridden.data!.id! }).delete();
    expect((await config.readResource(DEMO_ORG_ID, first.uri))?.contents[0]).not.toMatchObject({
      text: "our version",
    });

    expect((await api.resources.post({ uri: first.uri, name: "copy", text: "x" })).status).toBe(409);
  });
});

describe("admin API: services, secrets, credentials", () => {
  test("secrets are write-only: set/not set and when, never the value", async () => {
    const set = await api
      .services({ server: "linear" })
      .secrets({ name: "apiKey" })
      .put({ value: "lin_api_SECRET" });
    expect(set.data?.secrets.apiKey).toMatchObject({ set: true });
    const listed = await api.services.get();
    expect(JSON.stringify(listed.data)).not.toContain("lin_api_SECRET");
    expect(JSON.stringify(listed.data)).not.toContain('"ct"');
    expect((await config.serviceConfig(await asOrg(), "linear")).credentials.apiKey).toBe("lin_api_SECRET");

    expect(
      (await api.services({ server: "linear" }).secrets({ name: "apiKey" }).delete()).data?.secrets,
    ).toEqual({});
    expect((await api.services({ server: "linear" }).secrets({ name: "apiKey" }).delete()).status).toBe(404);
    expect(
      (await api.services({ server: "nope" }).secrets({ name: "apiKey" }).put({ value: "x" })).status,
    ).toBe(404);
    const empty = await api.services({ server: "linear" }).secrets({ name: "apiKey" }).put({ value: "" });
    expect(empty.status).toBe(422);
  });

  test("enable/disable a service and patch its settings", async () => {
    const off = await api
      .services({ server: "perplexity" })
      .patch({ enabled: false, settings: { model: "sonar", depth: 2 } });
    expect(off.data).toMatchObject({ enabled: false, settings: { model: "sonar", depth: 2 } });
    expect((await config.catalog(DEMO_ORG_ID, code)).enabledServers).not.toContain("perplexity");
    const on = await api
      .services({ server: "perplexity" })
      .patch({ enabled: true, settings: { depth: null } });
    expect(on.data).toMatchObject({ enabled: true, settings: { model: "sonar" } });
    expect(on.data?.settings).not.toHaveProperty("depth");
    expect((await config.catalog(DEMO_ORG_ID, code)).enabledServers).toContain("perplexity");
  });

  test("a member sets their own credential; an API key without a user cannot", async () => {
    const member = { headers: { "x-test-role": "member" } };
    const mine = await api
      .services({ server: "linear" })
      .credentials({ name: "apiKey" })
      .put({ value: "mine" }, member);
    expect(mine.data?.myCredentials.apiKey).toMatchObject({ set: true });
    expect((await config.serviceConfig(await asOrg(), "linear")).credentials.apiKey).toBe("mine");
    const noUser = await api
      .services({ server: "linear" })
      .credentials({ name: "apiKey" })
      .put({ value: "x" }, { headers: { "x-test-user": "none" } });
    expect(noUser.status).toBe(400);
    await api.services({ server: "linear" }).credentials({ name: "apiKey" }).delete(undefined, member);
    expect((await config.serviceConfig(await asOrg(), "linear")).credentials.apiKey).toBeUndefined();
  });
});

describe("admin API: authorization and tenancy", () => {
  test("members cannot write configuration; anonymous callers are refused", async () => {
    const before = await countRows("organizationPrompts");
    const member = await api.prompts.post(newPrompt, { headers: { "x-test-role": "member" } });
    expect(member.status).toBe(403);
    expect(member.error?.value).toMatchObject({ error: { code: "forbidden" } });
    expect((await api.prompts.get({ headers: { "x-test-org": "anonymous" } })).status).toBe(401);
    expect(await countRows("organizationPrompts")).toBe(before);
  });

  test("org B cannot see or modify org A's prompts, resources or secrets", async () => {
    const a = await api.prompts.post({ ...newPrompt, name: "a_private" });
    const aRes = await api.resources.post({ uri: "org://a-private", name: "a", text: "secret plans" });
    await api.services({ server: "linear" }).secrets({ name: "apiKey" }).put({ value: "a-key" });
    const id = a.data!.id!;

    expect((await api.prompts.get(asB)).data!.prompts.some((p) => p.name === "a_private")).toBe(false);
    expect((await api.prompts({ id }).patch({ description: "hijacked" }, asB)).status).toBe(404);
    expect((await api.prompts({ id }).delete(undefined, asB)).status).toBe(404);
    expect((await api.resources({ id: aRes.data!.id! }).patch({ text: "hijacked" }, asB)).status).toBe(404);
    expect((await api.resources({ id: aRes.data!.id! }).delete(undefined, asB)).status).toBe(404);
    expect(
      (await api.prompts.preview.post({ name: "a_private", arguments: { version: "1" } }, asB)).status,
    ).toBe(404);
    expect((await api.services.get(asB)).data!.services.find((s) => s.name === "linear")?.secrets).toEqual(
      {},
    );
    expect(await config.readResource(orgB.orgId, "org://a-private")).toBeNull();

    // A's items are intact.
    const stillA = (await api.prompts.get()).data!.prompts.find((p) => p.id === id);
    expect(stillA?.description).toBe(newPrompt.description);
    expect((await config.readResource(DEMO_ORG_ID, "org://a-private"))?.contents[0]).toMatchObject({
      text: "secret plans",
    });
    // B can use the same names for its own items.
    expect((await api.prompts.post({ ...newPrompt, name: "a_private" }, asB)).status).toBe(201);
  });
});

async function asOrg(): Promise<OrgContext> {
  return { ...(devOrgResolver({ request: new Request("http://x") }) as OrgContext), userId: DEMO_USER_ID };
}
