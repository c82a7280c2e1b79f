import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { PERMISSIONS } from "@omni/contracts";
import { DEMO_ORG_ID, newId } from "@omni/db";
import type { Subprocess } from "bun";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule } from "../src/auth/index.ts";
import { sealUpstreamSecret } from "../src/federation/registration.ts";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { APP_HTML, APP_URI } from "./fixtures/apps-server.ts";
import { type Replica, startReplica } from "./fixtures/replicas.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Federation with real third-party MCP servers from npm: @modelcontextprotocol/server-everything over
 * stdio and over Streamable HTTP (on loopback, behind a loopback auth-checking proxy), and
 * @modelcontextprotocol/server-memory over stdio, reached by the gateway as an MCP client.
 */

const modules = join(import.meta.dir, "..", "node_modules", "@modelcontextprotocol");
const EVERYTHING = join(modules, "server-everything", "dist", "index.js");
const MEMORY = join(modules, "server-memory", "dist", "index.js");
const APPS = join(import.meta.dir, "fixtures", "apps-server.ts");
const SECRET = `Bearer upstream-${crypto.randomUUID()}`;

// Upstream processes start under a shared, loaded machine: give each test room (no timing is asserted).
setDefaultTimeout(30_000);

let stack: Stack;
let orgB: Replica;
/** A replica with the real authenticator (API keys): the admin API's tenancy. */
let authed: Replica;
let orgBId: string;
let httpEverything: Subprocess;
let sseEverything: Subprocess;
let ssePort = 0;
let keyA = "";
let keyB = "";
let proxy: ReturnType<typeof Bun.serve>;
const proxied: { authorized: number; refused: number } = { authorized: 0, refused: 0 };
const seenPids = new Set<number>();

async function until<T>(probe: () => T | Promise<T>, what: string, tries = 400): Promise<NonNullable<T>> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value) return value;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Spawns server-everything on a free loopback port with one of its HTTP transports; resolves once it answers. */
async function spawnEverything(transport: "streamableHttp" | "sse", path: string) {
  const port = freePort();
  const child = Bun.spawn(["node", EVERYTHING, transport], {
    env: { ...process.env, PORT: String(port) },
    stdout: "ignore",
    stderr: "ignore",
  });
  await until(
    () =>
      fetch(`http://127.0.0.1:${port}${path}`, { method: "HEAD" }).then(
        () => true,
        () => false,
      ),
    `server-everything (${transport}) to listen`,
  );
  return { child, port };
}

const api = (key: string, path: string, init: RequestInit = {}) =>
  fetch(`${authed.url}/api/federation${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers },
  });

async function connect(
  url: string,
  capabilities: Record<string, object> = {},
  headers: Record<string, string> = {},
): Promise<Client> {
  const client = new Client({ name: "federation-test", version: "1.0.0" }, { capabilities });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

function pidsOf(replica: { federation: Stack["federation"] }, prefix: string): number[] {
  return (replica.federation?.connections() ?? [])
    .filter((c) => c.spec.prefix === prefix && c.pid !== null)
    .map((c) => c.pid!);
}

beforeAll(async () => {
  stack = await startStack({ servers: [alphaServer], federation: {}, healthIntervalMs: 200 });
  // server-everything over Streamable HTTP, on loopback only, behind a proxy that demands the secret.
  const http = await spawnEverything("streamableHttp", "/mcp");
  httpEverything = http.child;
  const port = http.port;
  const sse = await spawnEverything("sse", "/message");
  sseEverything = sse.child;
  ssePort = sse.port;
  proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch(request) {
      if (request.headers.get("authorization") !== SECRET) {
        proxied.refused++;
        return new Response("unauthorized", { status: 401 });
      }
      proxied.authorized++;
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("authorization");
      headers.delete("host");
      return fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: request.body,
        signal: request.signal,
      });
    },
  });
  const repo = stack.repos.federation;
  const memoryFile = join(memoryDir, "memory.jsonl");
  await repo.operatorCreate({
    organizationId: null,
    name: "io.github.modelcontextprotocol/server-everything",
    prefix: "every",
    transport: "stdio",
    command: "node",
    args: [EVERYTHING, "stdio"],
  });
  await repo.operatorCreate({
    organizationId: null,
    name: "io.github.modelcontextprotocol/server-memory",
    prefix: "memory",
    transport: "stdio",
    command: "node",
    args: [MEMORY],
    env: { MEMORY_FILE_PATH: memoryFile },
  });
  await repo.operatorCreate({
    organizationId: DEMO_ORG_ID,
    name: "apps",
    prefix: "apps",
    transport: "stdio",
    command: process.execPath,
    args: [APPS],
  });
  // Org A's own remote upstream, with its auth header sealed like every other secret.
  const id = newId("fed");
  await repo.createRemote(DEMO_ORG_ID, {
    id,
    name: "everything over HTTP",
    prefix: "remote",
    transport: "streamable-http",
    url: `http://127.0.0.1:${proxy.port}/mcp`,
    authHeader: "Authorization",
    authSecret: sealUpstreamSecret(
      stack.config.secrets,
      { id, organizationId: DEMO_ORG_ID },
      "Authorization",
      SECRET,
    ),
  });
  await stack.federation!.reload();
  // Open org A's connections before the tests (each test then measures calls, not process start-up).
  await stack.federation!.catalog(DEMO_ORG_ID);
  await until(
    () => stack.federation!.health(DEMO_ORG_ID).every((h) => h.state === "healthy"),
    "org A's upstreams to connect",
  );
  const org = await stack.repos.organizations.create({ slug: `fed-b-${Date.now()}`, name: "Org B" });
  orgBId = org.id;
  keyA = (await createApiKey(stack.repos, DEMO_ORG_ID, null, { name: "a", scopes: [...PERMISSIONS] })).secret;
  keyB = (await createApiKey(stack.repos, orgBId, null, { name: "b", scopes: [...PERMISSIONS] })).secret;
  orgB = await startReplica({
    db: stack.db,
    instances: [],
    federation: {},
    authenticator: createDevAuthenticator(orgBId),
    admin: true,
  });
  authed = await startReplica({
    db: stack.db,
    instances: [{ server: "alpha", url: stack.servers.get("alpha")!.url }],
    federation: {},
    authenticator: createAuthModule({ db: stack.db }).authenticator,
    admin: true,
  });
}, 120_000);

/** The memory server's file (removed at the end). */
const memoryDir = mkdtempSync(join(tmpdir(), "omni-fed-"));

afterAll(async () => {
  const pids = [...seenPids, ...pidsOf(stack, "every"), ...pidsOf(stack, "memory"), ...pidsOf(orgB, "every")];
  await orgB?.stop();
  await authed?.stop();
  await stack?.stop();
  proxy?.stop(true);
  httpEverything?.kill();
  sseEverything?.kill();
  await httpEverything?.exited;
  await sseEverything?.exited;
  // No leaked upstream processes: every stdio child the gateways started is gone.
  await until(() => pids.every((pid) => !alive(pid)), "the stdio children to exit");
  rmSync(memoryDir, { recursive: true, force: true });
});

test("server-everything over stdio: tools, prompts, resources and templates, namespaced", async () => {
  const client = await connect(stack.url);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  expect(names).toContain("alpha_echo");
  expect(names).toContain("every_echo");
  expect(names).toContain("every_get-sum");
  expect(names).toContain("memory_create_entities");
  const echo = await client.callTool({ name: "every_echo", arguments: { message: "hello" } });
  expect(echo.content).toEqual([{ type: "text", text: "Echo: hello" }]);
  const sum = await client.callTool({ name: "every_get-sum", arguments: { a: 2, b: 40 } });
  expect(JSON.stringify(sum.content)).toContain("42");
  // The upstream's own validation errors come back as the upstream gave them.
  const bad = await client.callTool({ name: "every_get-sum", arguments: { a: "x" } });
  expect(bad.isError).toBe(true);

  const { prompts } = await client.listPrompts();
  expect(prompts.map((p) => p.name)).toContain("every_simple-prompt");
  const prompt = await client.getPrompt({ name: "every_args-prompt", arguments: { city: "Paris" } });
  expect(JSON.stringify(prompt.messages)).toContain("Paris");

  const { resources } = await client.listResources();
  const doc = resources.find((r) => r.uri.startsWith("demo://resource/static/document/"));
  expect(doc).toBeDefined();
  const read = await client.readResource({ uri: doc!.uri });
  expect(read.contents[0]?.uri).toBe(doc!.uri);
  const { resourceTemplates } = await client.listResourceTemplates();
  expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("demo://resource/dynamic/text/{resourceId}");
  const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/3" });
  expect(dynamic.contents[0]?.uri).toBe("demo://resource/dynamic/text/3");
  await client.close();
});

test("server-memory over stdio: a knowledge graph written and read through the gateway", async () => {
  const client = await connect(stack.url);
  const entity = `omni-${crypto.randomUUID().slice(0, 8)}`;
  const created = await client.callTool({
    name: "memory_create_entities",
    arguments: { entities: [{ name: entity, entityType: "test", observations: ["federated"] }] },
  });
  expect(created.isError).toBeFalsy();
  const found = await client.callTool({ name: "memory_search_nodes", arguments: { query: entity } });
  expect(JSON.stringify(found.content)).toContain("federated");
  await client.close();
});

test("server-everything over Streamable HTTP, with the org's sealed auth header", async () => {
  const client = await connect(stack.url);
  const sum = await client.callTool({ name: "remote_get-sum", arguments: { a: 1, b: 2 } });
  expect(JSON.stringify(sum.content)).toContain("3");
  expect(proxied.authorized).toBeGreaterThan(0);
  expect(proxied.refused).toBe(0);
  // Stored sealed: the plaintext is nowhere in the row.
  const rows = await stack.repos.federation.listVisible(DEMO_ORG_ID);
  expect(JSON.stringify(rows)).not.toContain(SECRET.slice(7));
  await client.close();
});

test("sampling and elicitation requests of the upstream reach the client through the gateway", async () => {
  const client = await connect(stack.url, { sampling: {}, elicitation: {} });
  const samplingSeen: string[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    samplingSeen.push(JSON.stringify(request.params.messages));
    return {
      model: "test-model",
      role: "assistant",
      content: { type: "text", text: "sampled by the client" },
    };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => ({
    action: "accept",
    content: { name: "Ada", check: true, firstLine: "Once", email: "ada@example.test" },
  }));
  const sampled = await client.callTool({
    name: "every_trigger-sampling-request",
    arguments: { prompt: "hi there", maxTokens: 10 },
  });
  expect(JSON.stringify(sampled.content)).toContain("sampled by the client");
  expect(samplingSeen[0]).toContain("hi there");
  const elicited = await client.callTool({ name: "every_trigger-elicitation-request", arguments: {} });
  expect(JSON.stringify(elicited.content)).toContain("Ada");
  // The same over the remote upstream.
  const remote = await client.callTool({
    name: "remote_trigger-sampling-request",
    arguments: { prompt: "remote", maxTokens: 5 },
  });
  expect(JSON.stringify(remote.content)).toContain("sampled by the client");
  await client.close();
});

test("a client without the sampling capability gets a clear error, not a hang", async () => {
  const client = await connect(stack.url);
  const result = await client
    .callTool({ name: "every_trigger-sampling-request", arguments: { prompt: "x", maxTokens: 5 } })
    .then(
      (r) => JSON.stringify(r),
      (e: unknown) => String(e),
    );
  expect(result).toMatch(/sampling/);
  await client.close();
});

test("progress is relayed, and cancelling stops the upstream call", async () => {
  const client = await connect(stack.url);
  const progress: number[] = [];
  const done = await client.callTool(
    { name: "every_trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  expect(JSON.stringify(done.content)).toContain("completed");
  expect(progress).toEqual([1, 2, 3]);
  const controller = new AbortController();
  const slow = client.callTool(
    { name: "every_trigger-long-running-operation", arguments: { duration: 30, steps: 30 } },
    undefined,
    { signal: controller.signal, onprogress: () => controller.abort("enough") },
  );
  await expect(slow).rejects.toThrow();
  // The session (and the upstream connection) keep working.
  const echo = await client.callTool({ name: "every_echo", arguments: { message: "after" } });
  expect(echo.content).toEqual([{ type: "text", text: "Echo: after" }]);
  await client.close();
});

test("MCP Apps pass through intact: _meta.ui on the tool and the ui:// resource", async () => {
  const client = await connect(stack.url);
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === "apps_show_clock");
  expect(tool?._meta).toEqual({ ui: { resourceUri: APP_URI }, "ui/resourceUri": APP_URI });
  const { resources } = await client.listResources();
  expect(resources.find((r) => r.uri === APP_URI)?.mimeType).toBe("text/html;profile=mcp-app");
  const app = await client.readResource({ uri: APP_URI });
  expect(app.contents[0]).toMatchObject({
    uri: APP_URI,
    text: APP_HTML,
    _meta: { ui: { prefersBorder: true } },
  });
  await client.close();
});

test("an upstream killed fails calls cleanly, then recovers on a new process; the old one is gone", async () => {
  const client = await connect(stack.url);
  await client.callTool({ name: "every_echo", arguments: { message: "warm" } });
  const [pid] = pidsOf(stack, "every");
  expect(pid).toBeDefined();
  seenPids.add(pid!);
  process.kill(pid!, "SIGKILL");
  await until(() => !alive(pid!), "the killed process to be gone");
  const failure = await until(async () => {
    const outcome = await client.callTool({ name: "every_echo", arguments: { message: "x" } }).then(
      () => null,
      (e: unknown) => String(e),
    );
    return outcome;
  }, "a call to fail");
  expect(failure).toMatch(/-32003|unavailable|Unknown tool/);
  const recovered = await until(async () => {
    const r = await client.callTool({ name: "every_echo", arguments: { message: "back" } }).catch(() => null);
    return r && JSON.stringify(r.content).includes("Echo: back") ? r : null;
  }, "the upstream to come back");
  expect(recovered.isError).toBeFalsy();
  const [next] = pidsOf(stack, "every");
  expect(next).toBeDefined();
  expect(next).not.toBe(pid);
  seenPids.add(next!);
  expect(alive(pid!)).toBe(false);
  await client.close();
});

test("isolation: org A's upstream and its secret are invisible to org B", async () => {
  const client = await connect(orgB.url);
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  // The global upstreams are B's too; A's own ones are not.
  expect(names).toContain("every_echo");
  expect(names.some((n) => n.startsWith("remote_") || n.startsWith("apps_"))).toBe(false);
  await expect(client.callTool({ name: "remote_get-sum", arguments: { a: 1, b: 1 } })).rejects.toThrow(
    /Unknown tool/,
  );
  const { resources } = await client.listResources();
  expect(resources.some((r) => r.uri === APP_URI)).toBe(false);
  await expect(client.readResource({ uri: APP_URI })).rejects.toThrow(/-32002/);
  // B's global upstream runs in B's own connection (its own process), not A's.
  const a = pidsOf(stack, "every");
  const b = pidsOf(orgB, "every");
  expect(b.length).toBe(1);
  expect(a).not.toContain(b[0]!);
  // The repository never shows B another org's row.
  const visible = await stack.repos.federation.listVisible(orgBId);
  expect(visible.map((r) => r.prefix).sort()).toEqual(["every", "memory"]);
  expect(orgB.federation!.health(orgBId).map((h) => h.prefix)).toEqual(["every", "memory"]);
  await client.close();
});

test("admin API: org admins register a remote upstream (legacy HTTP+SSE here), never a stdio command", async () => {
  const stdio = await api(keyA, "/servers", {
    method: "POST",
    body: JSON.stringify({ name: "x", prefix: "x", transport: "stdio", url: "http://127.0.0.1:1/mcp" }),
  });
  expect(stdio.status).toBe(422);
  expect(JSON.stringify(await stdio.json())).toMatch(/transport/);
  const clash = await api(keyA, "/servers", {
    method: "POST",
    body: JSON.stringify({ name: "x", prefix: "every", transport: "sse", url: "http://127.0.0.1:1/sse" }),
  });
  expect(clash.status).toBe(409);
  const builtin = await api(keyA, "/servers", {
    method: "POST",
    body: JSON.stringify({ name: "x", prefix: "alpha", transport: "sse", url: "http://127.0.0.1:1/sse" }),
  });
  expect(builtin.status).toBe(409);
  // Server-side request forgery: private, link-local (cloud metadata) and credential-bearing URLs are refused
  // before anything is stored or connected; this gateway allows only loopback (the test upstreams).
  for (const url of [
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.5/mcp",
    "http://u:p@127.0.0.1:1/",
  ]) {
    const refused = await api(keyA, "/servers", {
      method: "POST",
      body: JSON.stringify({ name: "x", prefix: "ssrf", transport: "streamable-http", url }),
    });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({ error: { code: "url_refused", details: { field: "url" } } });
  }
  expect((await stack.repos.federation.listVisible(DEMO_ORG_ID)).some((r) => r.prefix === "ssrf")).toBe(
    false,
  );
  const created = await api(keyA, "/servers", {
    method: "POST",
    body: JSON.stringify({
      name: "everything over SSE",
      prefix: "legacy",
      transport: "sse",
      url: `http://127.0.0.1:${ssePort}/sse`,
      authHeader: "X-Upstream-Key",
      authSecret: "sse-secret-value",
    }),
  });
  expect(created.status).toBe(201);
  const row = (await created.json()) as { id: string; hasAuthSecret: boolean; scope: string };
  expect(row).toMatchObject({ hasAuthSecret: true, scope: "organization" });
  expect(JSON.stringify(row)).not.toContain("sse-secret-value");

  const client = await connect(authed.url, {}, { authorization: `Bearer ${keyA}` });
  const echo = await until(
    () =>
      client.callTool({ name: "legacy_echo", arguments: { message: "over sse" } }).then(
        (r) => r,
        () => null,
      ),
    "the SSE upstream's tools",
  );
  expect(echo.content).toEqual([{ type: "text", text: "Echo: over sse" }]);
  await client.close();

  const listA = (await (await api(keyA, "/servers")).json()) as {
    servers: { prefix: string; state: string }[];
  };
  expect(listA.servers.find((s) => s.prefix === "legacy")?.state).toBe("healthy");
  expect(listA.servers.map((s) => s.prefix)).toEqual(["apps", "every", "legacy", "memory", "remote"]);
  expect(JSON.stringify(listA)).not.toContain("sse-secret-value");

  // Org B sees only the global upstreams, and cannot remove A's (nor a global one).
  const listB = (await (await api(keyB, "/servers")).json()) as { servers: { prefix: string }[] };
  expect(listB.servers.map((s) => s.prefix)).toEqual(["every", "memory"]);
  expect((await api(keyB, `/servers/${row.id}`, { method: "DELETE" })).status).toBe(404);
  const global = (await stack.repos.federation.listVisible(orgBId)).find((r) => r.prefix === "every")!;
  expect((await api(keyB, `/servers/${global.id}`, { method: "DELETE" })).status).toBe(403);
  expect((await api(keyA, `/servers/${row.id}`, { method: "DELETE" })).status).toBe(200);
  const after = await connect(authed.url, {}, { authorization: `Bearer ${keyA}` });
  await until(
    async () => !(await after.listTools()).tools.some((t) => t.name.startsWith("legacy_")),
    "the removed upstream's tools to go",
  );
  await after.close();
});
