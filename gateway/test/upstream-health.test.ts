import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import {
  createServerClient,
  defineTool,
  KitRpcError,
  type RunningServer,
  type ServerDefinition,
} from "@omni/kit";
import * as v from "valibot";
import { createGateway } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { createClientFactory, Registry } from "../src/registry/index.ts";
import { modernRequest, serveQuietly, TEST_INTERNAL_TOKEN } from "./fixtures/replicas.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Issue 11 items 6 and 7 through a real gateway (Postgres, API keys of two orgs, kit servers on loopback
 * ports): the gateway authenticates to domain servers with the deployment token, and a call whose
 * arguments make the upstream fail is that call's error, never a health event; only transport failures
 * (an unreachable instance) take an instance out of service.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** A server whose own code fails on some arguments (a validator that throws, a result it cannot send). */
const fragileServer: ServerDefinition = {
  name: "fragile",
  version: "1.0.0",
  tools: [
    defineTool({
      name: "fragile_check",
      description: "Validates n with code that throws on negative numbers",
      input: v.object({
        n: v.pipe(
          v.number(),
          v.check((n) => {
            if (n < 0) throw new RangeError("negative input broke the validator");
            return true;
          }),
        ),
      }),
      handler: ({ n }) => `n=${n}`,
    }),
    defineTool({
      name: "fragile_result",
      description: "Answers a result that cannot be serialised when asked to",
      input: v.object({ big: v.boolean() }),
      handler: ({ big }) => ({
        content: [{ type: "text", text: "sized" }],
        structuredContent: { size: big ? BigInt(2) ** BigInt(70) : 1 },
      }),
    }),
  ],
};

let db: DbHandle;
const servers: RunningServer[] = [];
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let stopGateway: (() => Promise<unknown>) | undefined;
let url: string;
let keyA: string;
let keyB: string;

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  const repos = createRepositories(db.db);
  const alpha = serveQuietly(alphaServer, { mcp: false });
  const fragile = serveQuietly(fragileServer, { mcp: false });
  servers.push(alpha, fragile);
  const keys: string[] = [];
  for (const tag of ["a", "b"]) {
    const org = await repos.organizations.create({
      slug: `health-${tag}-${crypto.randomUUID().slice(0, 8)}`,
      name: tag,
    });
    for (const name of ["alpha", "fragile"]) {
      const row = await repos.servers.upsert({ name, title: name });
      await repos.services.upsert(org.id, row.id, { enabled: true });
    }
    keys.push((await createApiKey(repos, org.id, null, { name: tag, scopes: ["tools:call"] })).secret);
  }
  [keyA, keyB] = keys as [string, string];
  config = createConfigService({ db: db.db, logger: quiet });
  registry = new Registry({
    instances: [
      { server: "alpha", url: alpha.url },
      { server: "fragile", url: fragile.url },
    ],
    clientFactory: createClientFactory(TEST_INTERNAL_TOKEN),
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  const auth = createAuthModule({ db: db.db });
  const gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    mcpAccess: auth.mcpAccess,
  }).listen({ port: 0, hostname: "127.0.0.1" });
  stopGateway = () => gateway.stop(true);
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  await stopGateway?.();
  registry?.stop();
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  await config?.close();
  await db?.close();
}, 60_000);

/** A stateless tools/call with a raw JSON `arguments` text (so it can be deeper than JSON.stringify goes). */
async function rawToolCall(key: string, name: string, argumentsJson: string) {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": name,
      authorization: `Bearer ${key}`,
    },
    body: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}},"name":${JSON.stringify(name)},"arguments":${argumentsJson}}}`,
  });
  const text = await res.text();
  const data = text.split("\n").findLast((line) => line.startsWith("data: "));
  return { status: res.status, body: JSON.parse(data ? data.slice(6) : text) as Record<string, unknown> };
}

const healthy = () => Object.fromEntries(registry.health().map((s) => [s.name, s.healthy]));

async function echo(key: string, text: string) {
  const { body } = await modernRequest(
    url,
    "tools/call",
    { name: "alpha_echo", arguments: { text } },
    { bearer: key },
  );
  return body.result as { content: { text: string }[]; isError?: boolean } | undefined;
}

describe("a call whose arguments make the upstream fail is that call's error, not a health event", () => {
  test("50,000-deep arguments, three times: each call fails alone; the instance stays healthy for another org", async () => {
    const deep = `{"text":"x","deep":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
    for (let i = 0; i < 3; i++) {
      const { status, body } = await rawToolCall(keyA, "alpha_echo", deep);
      expect(status).toBeLessThan(500);
      expect(body.result).toBeUndefined();
      const error = body.error as { code: number; message: string };
      // The gateway's JSON depth limit (64) refuses them before any upstream sees them (-32700).
      const accepted: number[] = [ErrorCode.ParseError, ErrorCode.InvalidParams, ErrorCode.InternalError];
      expect(accepted).toContain(error.code);
      expect(error.message).not.toContain("no healthy instance");
    }
    expect(healthy()).toEqual({ alpha: 1, fragile: 1 });
    expect((await echo(keyB, "still here"))?.content[0]?.text).toContain("alpha says still here");
    expect((await echo(keyA, "me too"))?.content[0]?.text).toContain("alpha says me too");
  }, 60_000);

  test("a server whose code throws on the arguments, or cannot send its answer: -32603 for that call only", async () => {
    for (let i = 0; i < 5; i++) {
      const thrown = await rawToolCall(keyA, "fragile_check", '{"n":-1}');
      expect(thrown.body.error).toMatchObject({ code: ErrorCode.InternalError });
      expect(String((thrown.body.error as { message: string }).message)).toContain("RangeError");
      const unsendable = await rawToolCall(keyA, "fragile_result", '{"big":true}');
      expect(unsendable.body.error).toMatchObject({ code: ErrorCode.InternalError });
      expect(String((unsendable.body.error as { message: string }).message)).toContain(
        "could not send this call's answer (TypeError",
      );
    }
    expect(healthy()).toEqual({ alpha: 1, fragile: 1 });
    const fine = await rawToolCall(keyB, "fragile_check", '{"n":3}');
    expect((fine.body.result as { content: { text: string }[] }).content[0]?.text).toBe("n=3");
    const small = await rawToolCall(keyB, "fragile_result", '{"big":false}');
    expect((small.body.result as { structuredContent: unknown }).structuredContent).toEqual({ size: 1 });
  }, 60_000);

  test("a transport failure (the instance is gone) still takes it out of service", async () => {
    const doomed = serveQuietly(alphaServer, { mcp: false });
    const own = new Registry({
      instances: [{ server: "alpha", url: doomed.url }],
      clientFactory: createClientFactory(TEST_INTERNAL_TOKEN),
      healthIntervalMs: 600_000,
      logger: quiet,
    });
    await own.start();
    const instance = own.pick("alpha");
    if (!instance) throw new Error("alpha should be healthy");
    expect(own.markFailed(instance, new RangeError("Maximum call stack size exceeded."))).toBe(false);
    expect(own.markFailed(instance, new KitRpcError("answered 500", 500))).toBe(false);
    expect(own.health()).toEqual([{ name: "alpha", instances: 1, healthy: 1 }]);
    await doomed.stop();
    const refused = await instance.client
      .callTool({ name: "alpha_echo", arguments: { text: "x" }, scope: scopeOf("org_x"), live: false })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KitRpcError);
    expect(refused).toMatchObject({ transport: true });
    expect(own.markFailed(instance, refused)).toBe(true);
    expect(own.health()).toEqual([{ name: "alpha", instances: 1, healthy: 0 }]);
    own.stop();
  });

  test("a proxy's 502/503/504 is a transport failure; an error the kit server answers is not", async () => {
    const proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => new Response("down", { status: 503 }),
    });
    try {
      const viaProxy = createServerClient(`http://127.0.0.1:${proxy.port}`, {
        internalToken: TEST_INTERNAL_TOKEN,
      });
      expect(await viaProxy.capabilities().catch((error: unknown) => error)).toMatchObject({
        status: 503,
        transport: true,
      });
    } finally {
      await proxy.stop(true);
    }
  });
});

function scopeOf(orgId: string) {
  return {
    org: {
      orgId,
      userId: null,
      role: "member" as const,
      permissions: [],
      via: "api_key" as const,
      requestId: "r",
    },
    config: { settings: {}, credentials: {} },
    sessionKey: "s",
  };
}

describe("internal RPC token, through the gateway", () => {
  test("a gateway with another deployment's token cannot use the servers: they stay out of service", async () => {
    const stranger = new Registry({
      instances: [{ server: "alpha", url: servers[0]!.url }],
      clientFactory: createClientFactory("another-deployment-token"),
      healthIntervalMs: 600_000,
      logger: quiet,
    });
    await stranger.start();
    expect(stranger.health()).toEqual([{ name: "alpha", instances: 1, healthy: 0 }]);
    expect(stranger.capabilities.tools.size).toBe(0);
    stranger.stop();
    const direct = await fetch(`${servers[0]!.url}/rpc/capabilities`);
    expect(direct.status).toBe(401);
    expect(await direct.json()).toEqual({ error: expect.stringContaining("OMNI_INTERNAL_TOKEN") });
    const health = await fetch(`${servers[0]!.url}/health`);
    expect(health.status).toBe(200);
  });
});
