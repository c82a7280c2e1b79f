import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { treaty } from "@elysiajs/eden";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  createRepositories,
  createTestDatabase,
  type DbHandle,
  DEMO_ORG_ID,
  DEPLOYMENT_AUDIT_CHAIN,
  registerCatalogue,
} from "@omni/db";
import { type RunningServer, serverCapabilities } from "@omni/kit";
import { createGateway, type GatewayApp } from "../src/app.ts";
import { type AuthModule, createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { type ConfigServiceImpl, createConfigService } from "../src/config/index.ts";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { createClientFactory, Registry } from "../src/registry/index.ts";
import { InstanceFollower } from "../src/registry/instances.ts";
import { createLogger } from "../src/security/log.ts";
import { demoAndOtherKeys } from "./fixtures/auth-fixtures.ts";
import { Gates, instanceServer, until } from "./fixtures/instance-server.ts";
import { serveQuietly, TEST_INTERNAL_TOKEN } from "./fixtures/replicas.ts";

/**
 * The operator API of domain-server instances (`/api/operator/instances`) on a real gateway, Postgres and
 * real kit servers: only the operator token opens it (no credentials, a wrong token and every org's keys,
 * owners' included, are refused, before any body is read); URLs are checked field by field; an instance
 * added through it takes calls, a drained one gets no new calls while its call in flight finishes, an
 * undrained one is back, a removed one is dropped once its calls are done; every change is audited in the
 * deployment's chain.
 */

setDefaultTimeout(60_000);

const OPERATOR = `test-operator-${crypto.randomUUID()}`;

const gates = new Gates();
const omicron = (label: string) => instanceServer("omicron", label, gates);

let db: DbHandle;
let a: RunningServer;
let b: RunningServer;
let registry: Registry;
let follower: InstanceFollower;
let config: ConfigServiceImpl;
let auth: AuthModule;
let gateway: GatewayApp;
let url: string;
let client: Client;
const keys = { owner: "", reader: "", other: "" };
// The audit checkpoints of this run (the deployment chain's id is the same in every database).
const dataDir = mkdtempSync(join(tmpdir(), "omni-operator-"));

beforeAll(async () => {
  const handle = await createTestDatabase("postgres", { seed: true });
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  const repos = createRepositories(db.db);
  const { serverId } = await registerCatalogue(db.db, serverCapabilities(omicron("A")));
  await repos.services.upsert(DEMO_ORG_ID, serverId, { enabled: true });
  Object.assign(keys, await demoAndOtherKeys(repos));
  a = serveQuietly(omicron("A"), { mcp: false });
  b = serveQuietly(omicron("B"), { mcp: false });
  const silent = createLogger({ level: "silent" });
  config = createConfigService({ db: db.db, logger: silent });
  await config.ready;
  auth = createAuthModule({
    db: db.db,
    env: readAuthEnv({ RATE_LIMIT_PER_KEY: "0", RATE_LIMIT_PER_ORG: "0" }),
    dataDir,
    logger: silent,
  });
  // A comes from SERVERS (fixed); B will be added through the operator API.
  const fixed = [{ server: "omicron", url: a.url }];
  registry = new Registry({
    instances: fixed,
    clientFactory: createClientFactory(TEST_INTERNAL_TOKEN),
    healthIntervalMs: 600_000,
    logger: silent,
  });
  await registry.start();
  // Polling effectively off: the API applies its changes on this replica itself.
  follower = new InstanceFollower({
    registry,
    load: () => repos.servers.listRoutes(),
    fixed,
    intervalMs: 600_000,
    drainMs: 20_000,
  });
  await follower.start();
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: silent,
    security: { ...auth.security, accessLog: false },
    mcpAccess: auth.mcpAccess,
    admin: {
      db: db.db,
      config,
      resolveOrg: auth.resolveOrg,
      audit: auth.audit,
      auth,
      operator: { token: OPERATOR, follower },
    },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
  client = new Client({ name: "operator-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${keys.owner}` } },
    }),
  );
}, 60_000);

afterAll(async () => {
  gates.releaseAll();
  await client?.close();
  await follower?.stop();
  await gateway?.stop(true);
  registry?.stop();
  await config?.close();
  await a?.stop();
  await b?.stop();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = () => treaty<GatewayApp>(url).api.operator;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const asOperator = bearer(OPERATOR);
const text = (result: unknown) =>
  ((result as { content: { type: string; text: string }[] }).content[0]?.text ?? "") as string;
const errorOf = (value: unknown) =>
  (value as { error: { code: string; message: string; details?: unknown } }).error;

/** Two calls held, one on each instance (A's gate `g`, B's `h`), once both have started. */
async function holdOnBoth() {
  const g = gates.open("A");
  const h = gates.open("B");
  const held = [
    client.callTool({ name: "omicron_hold_call", arguments: {} }),
    client.callTool({ name: "omicron_hold_call", arguments: {} }),
  ];
  await until("one held call on each instance", () => g.started === 1 && h.started === 1);
  return { g, h, held };
}

describe("who may use the operator API", () => {
  test("without credentials, with a wrong token: 401 naming the operator token", async () => {
    const anonymous = await api().instances.get();
    expect(anonymous.error?.status).toBe(401);
    expect(errorOf(anonymous.error?.value)).toMatchObject({ code: "unauthorized" });
    expect(errorOf(anonymous.error?.value).message).toContain("OMNI_OPERATOR_TOKEN");
    const wrong = await api().instances.get(bearer(`${OPERATOR}x`));
    expect(wrong.error?.status).toBe(401);
    expect(errorOf(wrong.error?.value).code).toBe("invalid_operator_token");
    const posted = await api().instances.post({ server: "omicron", url: b.url });
    expect(posted.error?.status).toBe(401);
  });

  test("an org owner's key, another org's owner key, a reader's key: 403 on every route, before the body is read", async () => {
    for (const key of [keys.owner, keys.other, keys.reader]) {
      const listed = await api().instances.get(bearer(key));
      expect(listed.error?.status).toBe(403);
      expect(errorOf(listed.error?.value).code).toBe("operator_only");
      const added = await api().instances.post({ server: "omicron", url: b.url }, bearer(key));
      expect(added.error?.status).toBe(403);
      expect((await api().instances({ id: "ins_x" }).drain.post(undefined, bearer(key))).error?.status).toBe(
        403,
      );
      expect((await api().instances({ id: "ins_x" }).delete(undefined, bearer(key))).error?.status).toBe(403);
      expect((await api().audit.get({ query: {}, ...bearer(key) })).error?.status).toBe(403);
      expect((await api().audit.verify.get(bearer(key))).error?.status).toBe(403);
    }
    // x-api-key too; and a body that would not validate is refused for the credential, not the body.
    const viaHeader = await fetch(`${url}/api/operator/instances`, {
      method: "POST",
      headers: { "x-api-key": keys.owner, "content-type": "application/json" },
      body: "{not json",
    });
    expect(viaHeader.status).toBe(403);
    expect(((await viaHeader.json()) as { error: { code: string } }).error.code).toBe("operator_only");
    expect(await createRepositories(db.db).servers.namedInstances()).toEqual([]);
  });

  test("development mode's credential-less demo owner is no operator (401); the token still works there", async () => {
    const dev = createGateway({
      config,
      authenticator: createDevAuthenticator(DEMO_ORG_ID, auth.authenticator),
      registry,
      logger: createLogger({ level: "silent" }),
      security: { ...auth.security, accessLog: false },
      admin: {
        db: db.db,
        config,
        resolveOrg: auth.resolveOrg,
        audit: auth.audit,
        auth,
        operator: { token: OPERATOR },
      },
    });
    const request = (headers: Record<string, string>) =>
      dev.handle(
        new Request("http://127.0.0.1/api/operator/instances", {
          headers: { host: "127.0.0.1", ...headers },
        }),
      );
    const anonymous = await request({});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect((await request({ authorization: `Bearer ${keys.owner}` })).status).toBe(403);
    expect((await request(asOperator.headers)).status).toBe(200);
  });

  test("a gateway without an operator token answers 403 operator_api_disabled", async () => {
    const off = createGateway({
      config,
      authenticator: auth.authenticator,
      registry,
      logger: createLogger({ level: "silent" }),
      security: { ...auth.security, accessLog: false },
      admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
    });
    const response = await off.handle(
      new Request("http://127.0.0.1/api/operator/instances", {
        headers: { ...asOperator.headers, host: "127.0.0.1" },
      }),
    );
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code, body.error.message).toBe("operator_api_disabled");
    expect(body.error.message).toContain("set OMNI_OPERATOR_TOKEN");
  });
});

describe("operating instances", () => {
  let idB = "";

  test("list: the SERVERS instance with this replica's live health, no rows yet", async () => {
    const { data, error } = await api().instances.get(asOperator);
    expect(error).toBeNull();
    expect(data?.instances).toEqual([
      {
        id: null,
        server: "omicron",
        url: a.url,
        source: "env",
        draining: false,
        live: expect.objectContaining({ healthy: true, draining: false, outstanding: 0, version: "1.0.0" }),
        createdAt: null,
        updatedAt: null,
      },
    ]);
  });

  test("add refuses a bad url or server with a 422 naming the field", async () => {
    const cases: [string, string, string][] = [
      ["omicron", "ftp://127.0.0.1:1", "url"],
      ["omicron", "not a url", "url"],
      ["omicron", "http://admin:secret@127.0.0.1:1", "url"],
      ["omicron", "http://127.0.0.1:1/?next=1", "url"],
      ["omicron", `http://127.0.0.1:1/${"a".repeat(2000)}`, "url"],
      ["Omicron!", "http://127.0.0.1:1", "server"],
      ["nosuchserver", "http://127.0.0.1:1", "server"],
    ];
    for (const [server, bad, field] of cases) {
      const { error } = await api().instances.post({ server, url: bad }, asOperator);
      expect(error?.status, `${server} ${bad}`).toBe(422);
      expect(errorOf(error?.value).details, `${server} ${bad}`).toEqual({ field });
    }
    const unknown = await api().instances.post({ server: "nosuchserver", url: b.url }, asOperator);
    expect(errorOf(unknown.error?.value)).toMatchObject({ code: "unknown_server" });
    expect(errorOf(unknown.error?.value).message).toContain("omicron");
    const missing = await fetch(`${url}/api/operator/instances`, {
      method: "POST",
      headers: { ...asOperator.headers, "content-type": "application/json" },
      body: JSON.stringify({ url: b.url }),
    });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { error: { details: unknown } }).error.details).toEqual({
      field: "server",
    });
    expect(await createRepositories(db.db).servers.namedInstances()).toEqual([]);
  });

  test("add: 201, this replica routes to it at once; the same url again, or the SERVERS one, is a 409", async () => {
    const { data, error, status } = await api().instances.post(
      { server: "omicron", url: `${b.url}/` },
      asOperator,
    );
    expect(error).toBeNull();
    expect(status).toBe(201);
    expect(data).toMatchObject({ server: "omicron", url: b.url, source: "table", draining: false });
    expect(data?.id).toMatch(/^ins_/);
    expect(data?.live?.healthy).toBe(true);
    idB = data?.id ?? "";

    // Both take calls: with a call held on one, the next goes to the other.
    const { g, h, held } = await holdOnBoth();
    g.release();
    h.release();
    expect((await Promise.all(held)).map(text).sort()).toEqual(["A released", "B released"]);

    const again = await api().instances.post({ server: "omicron", url: b.url }, asOperator);
    expect(again.error?.status).toBe(409);
    expect(errorOf(again.error?.value)).toMatchObject({ code: "instance_exists", details: { field: "url" } });
    const fixed = await api().instances.post({ server: "omicron", url: a.url }, asOperator);
    expect(fixed.error?.status).toBe(409);
    expect(errorOf(fixed.error?.value).message).toContain("SERVERS");
  });

  test("drain: no new calls go to it while its call in flight finishes; undrain puts it back", async () => {
    // A call held on each instance, so B surely has one in flight.
    const { g, h, held } = await holdOnBoth();
    g.release();
    const drained = await api().instances({ id: idB }).drain.post(undefined, asOperator);
    expect(drained.error).toBeNull();
    expect(drained.data).toMatchObject({ id: idB, draining: true, live: { draining: true, outstanding: 1 } });
    for (let i = 0; i < 4; i++) {
      expect(text(await client.callTool({ name: "omicron_name_instance", arguments: {} }))).toBe("A");
    }
    h.release();
    expect((await Promise.all(held)).map(text).sort()).toEqual(["A released", "B released"]);
    // Draining twice changes nothing (and audits nothing).
    expect((await api().instances({ id: idB }).drain.post(undefined, asOperator)).data?.draining).toBe(true);

    const back = await api().instances({ id: idB }).undrain.post(undefined, asOperator);
    expect(back.data).toMatchObject({ id: idB, draining: false, live: { draining: false } });
    const g2 = gates.open("A");
    const heldA = client.callTool({ name: "omicron_hold_call", arguments: {} });
    await until("a held call on A", () => g2.started === 1);
    expect(text(await client.callTool({ name: "omicron_name_instance", arguments: {} }))).toBe("B");
    g2.release();
    await heldA;
  });

  test("unknown ids are a 404 naming the id; remove drops the row and, once its calls are done, the instance", async () => {
    for (const call of [
      api().instances({ id: "ins_nope" }).drain.post(undefined, asOperator),
      api().instances({ id: "ins_nope" }).undrain.post(undefined, asOperator),
      api().instances({ id: "ins_nope" }).delete(undefined, asOperator),
    ]) {
      const { error } = await call;
      expect(error?.status).toBe(404);
      expect(errorOf(error?.value)).toMatchObject({ code: "not_found", details: { field: "id" } });
    }

    const removed = await api().instances({ id: idB }).delete(undefined, asOperator);
    expect(removed.error).toBeNull();
    expect(removed.data).toMatchObject({ id: null, source: "removed", url: b.url, draining: true });
    await follower.settled();
    const { data } = await api().instances.get(asOperator);
    expect(data?.instances.map((i) => [i.source, i.url])).toEqual([["env", a.url]]);
    expect((await api().instances({ id: idB }).delete(undefined, asOperator)).error?.status).toBe(404);
  });

  test("every change is in the deployment's audit chain (operator as actor), none in an org's", async () => {
    const rows = await createRepositories(db.db).audit.list(DEPLOYMENT_AUDIT_CHAIN, { order: "asc" });
    expect(rows.map((r) => r.action)).toEqual([
      "server_instance.create",
      "server_instance.drain",
      "server_instance.undrain",
      "server_instance.delete",
    ]);
    expect(new Set(rows.map((r) => `${r.actorType}:${r.actor}`))).toEqual(new Set(["system:operator"]));
    expect(rows.every((r) => r.targetId === idB)).toBe(true);
    expect(rows[0]?.after).toEqual({ server: "omicron", url: b.url });
    const verified = await auth.audit.verify(DEPLOYMENT_AUDIT_CHAIN);
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    const demo = await createRepositories(db.db).audit.list(DEMO_ORG_ID, { order: "asc" });
    expect(demo.some((r) => r.action.startsWith("server_instance."))).toBe(false);

    // The same chain through the operator API: newest first, paged, filtered; and its verification.
    const listed = await api().audit.get({ query: {}, ...asOperator });
    expect(listed.error).toBeNull();
    expect(listed.data?.map((e) => e.action)).toEqual([
      "server_instance.delete",
      "server_instance.undrain",
      "server_instance.drain",
      "server_instance.create",
    ]);
    expect(listed.data?.[3]?.after).toEqual({ server: "omicron", url: b.url });
    const page = await api().audit.get({ query: { limit: 1, before: listed.data?.[0]?.seq }, ...asOperator });
    expect(page.data?.map((e) => e.action)).toEqual(["server_instance.undrain"]);
    const drains = await api().audit.get({ query: { action: "server_instance.drain" }, ...asOperator });
    expect(drains.data?.map((e) => e.targetId)).toEqual([idB]);
    const bad = await fetch(`${url}/api/operator/audit?limit=ten`, asOperator);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("limit must be a whole number");
    const checked = await api().audit.verify.get(asOperator);
    expect(checked.data).toMatchObject({ ok: true, checked: 4, totalBreaks: 0 });
  });
});
