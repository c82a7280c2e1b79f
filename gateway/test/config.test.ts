import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { OrgContext, PromptTemplate } from "@omni/contracts";
import { createRepositories, DEMO_ORG_ID, DEMO_USER_ID } from "@omni/db";
import { createAdminService } from "../src/admin/service.ts";
import { rotateSecrets } from "../src/config/cli/rotate.ts";
import { type ConfigServiceImpl, createConfigService } from "../src/config/index.ts";
import { SecretBox } from "../src/config/secrets.ts";
import { type ConfigChange, ConfigError } from "../src/ports.ts";
import { createOrg, newKey, openDatabase, openRedis, silentLogger } from "./config-fixtures.ts";

const db = await openDatabase();
const { redis, prefix, cleanup } = openRedis();
const key = newKey();
const services: ConfigServiceImpl[] = [];

function service(opts: { redis?: boolean; keys?: ReturnType<typeof newKey>[]; prefix?: string } = {}) {
  const s = createConfigService({
    db: db.db,
    ...(opts.redis === false ? {} : { redis }),
    secretKeys: opts.keys ?? [key],
    cache: { prefix: opts.prefix ?? prefix, size: 100, ttlMs: 60_000 },
    logger: silentLogger,
  });
  services.push(s);
  return s;
}

const demo: OrgContext = {
  orgId: DEMO_ORG_ID,
  userId: DEMO_USER_ID,
  role: "owner",
  permissions: [],
  via: "dev",
  requestId: "test",
};

const code = new Map<string, PromptTemplate[]>([
  [
    "linear",
    [
      {
        name: "linear_triage_issues",
        description: "code version: the database default wins",
        messages: [{ role: "user", text: "x" }],
      },
      {
        name: "code_only",
        arguments: [{ name: "who", required: true }],
        messages: [{ role: "user", text: "hi {{who}}" }],
      },
    ],
  ],
]);

async function onNextChange(s: ConfigServiceImpl): Promise<ConfigChange> {
  return new Promise((resolve) => {
    const off = s.onChange((change) => {
      off();
      resolve(change);
    });
  });
}

afterAll(async () => {
  for (const s of services) await s.close();
  await cleanup();
  await db.close();
});

describe("config service on Postgres + Redis", () => {
  test("catalog merges code prompts under database defaults, enabled servers only", async () => {
    const s = service({ prefix: `${prefix}catalog:` });
    const catalog = await s.catalog(DEMO_ORG_ID, code);
    expect(catalog.enabledServers).toEqual(["devtools", "linear", "perplexity"]);
    const triage = catalog.prompts.find((p) => p.name === "linear_triage_issues")!;
    expect(triage.server).toBe("linear");
    expect(triage.description).not.toContain("code version");
    expect(triage.arguments?.find((a) => a.name === "team")).toEqual({
      name: "team",
      description: "Team key or name, e.g. ENG",
      required: true,
    });
    expect(catalog.prompts.find((p) => p.name === "code_only")?.server).toBe("linear");
    expect(catalog.resources.length).toBeGreaterThan(0);
    expect(catalog.resources.every((r) => typeof r.size === "number" && r.server !== undefined)).toBe(true);
  });

  test("getPrompt renders; bad arguments and unknown prompts are -32602", async () => {
    const s = service({ prefix: `${prefix}render:` });
    const result = await s.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG" }, code);
    const first = result.messages[0]!;
    expect(first.role).toBe("user");
    expect(first.content.type === "text" && first.content.text).toContain('team "ENG"');
    expect(first.content.type === "text" && first.content.text).toContain('"triage" set');
    const rejects = async (p: Promise<unknown>, text: string) => {
      const error = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).code).toBe(-32602);
      expect((error as ConfigError).message).toContain(text);
    };
    await rejects(s.getPrompt(DEMO_ORG_ID, "linear_triage_issues", {}, code), '"team"');
    await rejects(
      s.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG", scope: "everything" }, code),
      '"scope"',
    );
    await rejects(s.getPrompt(DEMO_ORG_ID, "no-such-prompt", {}, code), "no-such-prompt");
    expect(await s.completePromptArgument(DEMO_ORG_ID, "linear_triage_issues", "scope", "b", code)).toEqual([
      "backlog",
    ]);
  });

  test("readResource serves the org's static resources and returns null for other URIs", async () => {
    const s = service({ prefix: `${prefix}resources:` });
    const [first] = (await s.catalog(DEMO_ORG_ID, code)).resources;
    const read = await s.readResource(DEMO_ORG_ID, first!.uri);
    expect(read?.contents[0]?.uri).toBe(first!.uri);
    expect(await s.readResource(DEMO_ORG_ID, "linear://teams")).toBeNull();
  });

  for (const withRedis of [true, false]) {
    test(`1,000 concurrent prompts/get hit the database once, and once more after a write (${withRedis ? "L1+L2" : "L1 only"})`, async () => {
      const s = service({ redis: withRedis, prefix: `${prefix}count-${withRedis}:` });
      const admin = createAdminService({
        db: db.db,
        config: s,
        codePrompts: () => code,
        logger: silentLogger,
      });
      const burst = () =>
        Promise.all(
          Array.from({ length: 1000 }, () =>
            s.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG" }, code),
          ),
        );

      db.resetQueries();
      await burst();
      expect(db.queries()).toBe(1);
      await burst();
      expect(db.queries()).toBe(1);

      const changed = onNextChange(s);
      const override = await admin.overridePrompt(demo, "linear", "linear_triage_issues", {
        messages: [{ role: "user", text: `Triage {{team}} (${withRedis})` }],
      });
      expect(await changed).toEqual({ orgId: DEMO_ORG_ID, kinds: ["prompts"] });
      db.resetQueries();
      const results = await burst();
      expect(db.queries()).toBe(1);
      expect(results[999]!.messages[0]!.content).toEqual({ type: "text", text: `Triage ENG (${withRedis})` });
      await admin.deletePrompt(demo, override.id!);
    });
  }

  test("a write through instance A drops instance B's L1 and fires B's onChange; C fills from L2", async () => {
    const shared = `${prefix}pubsub:`;
    const a = service({ prefix: shared });
    const b = service({ prefix: shared });
    await Promise.all([a.ready, b.ready]);
    const admin = createAdminService({ db: db.db, config: a, codePrompts: () => code, logger: silentLogger });
    const before = await b.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG" }, code);
    expect(JSON.stringify(before)).not.toContain("edited through A");

    const seenByB = onNextChange(b);
    const row = await admin.overridePrompt(demo, "linear", "linear_triage_issues", {
      messages: [{ role: "user", text: "edited through A for {{team}}" }],
    });
    expect(await seenByB).toEqual({ orgId: DEMO_ORG_ID, kinds: ["prompts"] });
    const after = await b.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG" }, code);
    expect(after.messages[0]!.content).toEqual({ type: "text", text: "edited through A for ENG" });

    // A third instance starts cold: L2 (filled by B) answers without touching Postgres.
    const c = service({ prefix: shared });
    db.resetQueries();
    const fromL2 = await c.getPrompt(DEMO_ORG_ID, "linear_triage_issues", { team: "ENG" }, code);
    expect(fromL2).toEqual(after);
    expect(db.queries()).toBe(0);
    expect(c.cacheStats()).toMatchObject({ l2Hits: 1, loads: 0 });

    await admin.deletePrompt(demo, row.id!);
  });

  test("serviceConfig: settings and decrypted secrets; the member's own credential first", async () => {
    const s = service({ prefix: `${prefix}svc:` });
    const admin = createAdminService({ db: db.db, config: s, logger: silentLogger });
    await admin.updateService(demo, "linear", { settings: { defaultTeam: "ENG" } });
    await admin.setSecret(demo, "linear", "apiKey", "org-linear-key");
    await admin.setSecret(demo, "linear", "webhookSecret", "org-webhook");
    await admin.setCredential(demo, "linear", "apiKey", "my-own-linear-key");

    expect(await s.serviceConfig(demo, "linear")).toEqual({
      settings: { defaultTeam: "ENG" },
      credentials: { apiKey: "my-own-linear-key", webhookSecret: "org-webhook" },
    });
    expect(await s.serviceConfig({ ...demo, userId: null, via: "api_key" }, "linear")).toEqual({
      settings: { defaultTeam: "ENG" },
      credentials: { apiKey: "org-linear-key", webhookSecret: "org-webhook" },
    });
    await admin.setCredential(demo, "linear", "apiKey", null);
    expect((await s.serviceConfig(demo, "linear")).credentials.apiKey).toBe("org-linear-key");
  });

  test("a ciphertext copied to another organization fails to decrypt", async () => {
    const s = service({ prefix: `${prefix}aad:` });
    const admin = createAdminService({ db: db.db, config: s, logger: silentLogger });
    await admin.setSecret(demo, "perplexity", "apiKey", "pplx-demo");
    const other = await createOrg(db.db, "aad-victim");
    const repos = createRepositories(db.db);
    const perplexity = (await repos.servers.getByName("perplexity"))!;
    const stolen = (await repos.services.get(DEMO_ORG_ID, perplexity.id))!.secrets;
    await repos.services.update(other.orgId, perplexity.id, { secrets: stolen });
    const otherOrg: OrgContext = { ...demo, orgId: other.orgId, userId: other.userId };
    const error = await s.serviceConfig(otherOrg, "perplexity").then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('"apiKey"');
    expect((await s.serviceConfig(demo, "perplexity")).credentials.apiKey).toBe("pplx-demo");
    await repos.services.update(other.orgId, perplexity.id, { secrets: {} });
  });

  test("secrets:rotate re-encrypts everything under the new key in one transaction", async () => {
    const oldKey = newKey();
    const nextKey = newKey();
    const before = service({ keys: [oldKey], prefix: `${prefix}rotate-old:` });
    const admin = createAdminService({ db: db.db, config: before, logger: silentLogger });
    await admin.setSecret(demo, "devtools", "token", "devtools-token");
    await admin.setCredential(demo, "devtools", "token", "my-devtools-token");
    // Every other secret in the database was written under `key`: the rotation must know it too.
    const box = new SecretBox([nextKey, oldKey, key]);

    const dry = await rotateSecrets(db.db, box, { dryRun: true });
    expect(dry.secrets).toBeGreaterThanOrEqual(2);
    const repos = createRepositories(db.db);
    const devtools = (await repos.servers.getByName("devtools"))!;
    expect((await repos.services.get(DEMO_ORG_ID, devtools.id))!.secrets.token!.kid).toBe(oldKey.kid);

    const lines: string[] = [];
    const report = await rotateSecrets(db.db, box, { progress: (l) => lines.push(l) });
    expect(report.secrets).toBe(dry.secrets);
    expect(lines.some((l) => l.includes("demo"))).toBe(true);
    expect((await repos.services.get(DEMO_ORG_ID, devtools.id))!.secrets.token!.kid).toBe(nextKey.kid);
    expect((await repos.credentials.get(DEMO_ORG_ID, DEMO_USER_ID, devtools.id))!.secrets.token!.kid).toBe(
      nextKey.kid,
    );

    const after = service({ keys: [nextKey], prefix: `${prefix}rotate-new:` });
    expect((await after.serviceConfig(demo, "devtools")).credentials.token).toBe("my-devtools-token");
    expect((await after.serviceConfig({ ...demo, userId: null }, "devtools")).credentials.token).toBe(
      "devtools-token",
    );
    expect((await rotateSecrets(db.db, new SecretBox([nextKey]))).secrets).toBe(0);
  });

  test("a rotation that meets an unknown key changes nothing", async () => {
    const stranger = newKey();
    const s = service({ keys: [stranger], prefix: `${prefix}rotate-bad:` });
    const admin = createAdminService({ db: db.db, config: s, logger: silentLogger });
    await admin.setSecret(demo, "linear", "stranger", "x");
    const repos = createRepositories(db.db);
    const linear = (await repos.servers.getByName("linear"))!;
    const snapshot = JSON.stringify((await repos.services.get(DEMO_ORG_ID, linear.id))!.secrets);
    await expect(rotateSecrets(db.db, new SecretBox([newKey()]))).rejects.toThrow("not configured");
    expect(JSON.stringify((await repos.services.get(DEMO_ORG_ID, linear.id))!.secrets)).toBe(snapshot);
    await admin.setSecret(demo, "linear", "stranger", null);
  });
});

beforeAll(async () => {
  await redis.ping();
});
