import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Permission } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle } from "@omni/db";
import { type RunningServer, serve } from "@omni/kit";
import { createDevtoolsServer } from "@omni/server-devtools";
import { type Site, startSite } from "../../servers/devtools/test/fixtures/site.ts";
import { createGateway, type GatewayApp } from "../src/app.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../src/auth/index.ts";
import { createConfigService } from "../src/config/index.ts";
import { defaultClientFactory, Registry } from "../src/registry/index.ts";
import { AZP, ISSUER, rsaKey } from "./fixtures/auth-fixtures.ts";
import { modernRequest } from "./fixtures/replicas.ts";

/**
 * The real DevTools server (real Chromium over --remote-debugging-pipe) behind the real gateway and
 * authenticator on Postgres. Org A's credentials, by any tool, argument or admin route, reach nothing of
 * org B's browser; two stateless clients of one org (same key, or two keys) are isolated from each other;
 * the admin API lists and ends only the caller's organization's contexts.
 */
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const key = rsaKey();
let db: DbHandle;
let devtools: RunningServer;
let devtoolsDef: ReturnType<typeof createDevtoolsServer>;
let registry: Registry;
let config: ReturnType<typeof createConfigService>;
let gateway: GatewayApp;
let url: string;
let site: Site;
const keys: Record<"a1" | "a2" | "aAdmin" | "b" | "bAdmin", string> = {
  a1: "",
  a2: "",
  aAdmin: "",
  b: "",
  bAdmin: "",
};
const clients: Client[] = [];

beforeAll(async () => {
  const handle = await createTestDatabase("postgres");
  if (!handle) throw new Error("Postgres at 127.0.0.1:5432 is required");
  db = handle;
  const repos = createRepositories(db.db);
  site = startSite();
  devtoolsDef = createDevtoolsServer();
  const log = console.log;
  console.log = () => {};
  try {
    devtools = serve(devtoolsDef, { port: 0, hostname: "127.0.0.1", mcp: false });
  } finally {
    console.log = log;
  }
  const server = await repos.servers.upsert({ name: "devtools", title: "Chrome DevTools" });
  const suffix = crypto.randomUUID().slice(0, 8);
  for (const tag of ["a", "b"] as const) {
    const org = await repos.organizations.create({
      slug: `dt-${tag}-${suffix}`,
      name: tag.toUpperCase(),
      clerkId: `org_dt_${tag}_${suffix}`,
    });
    // The fixture pages are on loopback: both organizations opt in to private networks.
    await repos.services.upsert(org.id, server.id, {
      enabled: true,
      settings: { allowPrivateNetwork: true },
    });
    const make = async (name: string, scopes: Permission[]) =>
      (await createApiKey(repos, org.id, null, { name, scopes })).secret;
    if (tag === "a") {
      keys.a1 = await make("a1", ["tools:call", "resources:read"]);
      keys.a2 = await make("a2", ["tools:call", "resources:read"]);
      keys.aAdmin = await make("a-admin", ["admin:read", "admin:write"]);
    } else {
      keys.b = await make("b", ["tools:call", "resources:read"]);
      keys.bAdmin = await make("b-admin", ["admin:read", "admin:write"]);
    }
  }
  config = createConfigService({ db: db.db, logger: quiet });
  registry = new Registry({
    instances: [{ server: "devtools", url: devtools.url }],
    clientFactory: defaultClientFactory,
    healthIntervalMs: 600_000,
    logger: quiet,
  });
  await registry.start();
  const auth = createAuthModule({
    db: db.db,
    env: readAuthEnv({ CLERK_JWT_KEY: key.publicPem, CLERK_AUTHORIZED_PARTIES: AZP, CLERK_ISSUER: ISSUER }),
  });
  gateway = createGateway({
    config,
    authenticator: auth.authenticator,
    registry,
    logger: quiet,
    plugins: [auth.routes],
    mcpAccess: auth.mcpAccess,
    admin: { db: db.db, config, resolveOrg: auth.resolveOrg, audit: auth.audit, auth },
  }).listen({ port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${gateway.server?.port}`;
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await gateway?.stop(true);
  registry?.stop();
  await devtools?.stop();
  await config?.close();
  await db?.close();
  await site?.stop();
}, 60_000);

async function session(bearer: string): Promise<Client> {
  const client = new Client({ name: "devtools-isolation", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    }),
  );
  clients.push(client);
  return client;
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

async function tool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { result, text: textOf(result), data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

/** A stateless 2026-07-28 tool call with `bearer`; the tool result. */
async function stateless(bearer: string, name: string, args: Record<string, unknown> = {}) {
  const { status, body } = await modernRequest(url, "tools/call", { name, arguments: args }, { bearer });
  expect(status).toBe(200);
  const result = body.result as CallToolResult;
  return { result, text: textOf(result), data: (result.structuredContent ?? {}) as Record<string, unknown> };
}

const api = (bearer: string, path: string, method = "GET") =>
  fetch(`${url}/api${path}`, { method, headers: { authorization: `Bearer ${bearer}` } });

describe("org A cannot reach org B's browser", () => {
  test("by tool, browser id, resource or admin route", async () => {
    const b = await session(keys.b);
    await tool(b, "chrome_navigate", { url: `${site.url}/form` });
    await tool(b, "chrome_type", { element: "#name", text: "B's secret" });
    await tool(b, "chrome_set_cookie", { name: "org", value: "b" });
    const bStatus = await tool(b, "chrome_browser_status");
    const bBrowser = String((bStatus.data.session as { browser: string }).browser);
    expect(bBrowser).toMatch(/^br_/);
    const bTab = ((await tool(b, "chrome_list_tabs")).data.tabs as { tabId: string }[])[0]!.tabId;

    const a = await session(keys.a1);
    // A's own browser shows none of B's tabs, cookies or values.
    const aTabs = (await tool(a, "chrome_list_tabs")).data.tabs as { tabId: string; url: string }[];
    expect(aTabs.map((t) => t.tabId)).not.toContain(bTab);
    expect(JSON.stringify(aTabs)).not.toContain("/form");
    expect((await tool(a, "chrome_get_cookies")).data.cookies).toEqual([]);
    expect((await tool(a, "chrome_select_tab", { tabId: bTab })).text).toContain("No tab");
    const resource = await a.readResource({ uri: "devtools://tabs" });
    expect(JSON.stringify(resource)).not.toContain(bTab);
    // B's browser id is refused to A (session or stateless), for every kind of tool.
    for (const name of ["chrome_list_tabs", "chrome_get_cookies", "chrome_evaluate", "chrome_stop_browser"]) {
      const args =
        name === "chrome_evaluate"
          ? { expression: "document.cookie", browser: bBrowser }
          : { browser: bBrowser };
      const viaSession = await tool(a, name, args);
      expect(viaSession.result.isError).toBe(true);
      expect(viaSession.text).toContain(`No browser ${bBrowser} for this client`);
      const viaStateless = await stateless(keys.a1, name, args);
      expect(viaStateless.text).toContain(`No browser ${bBrowser} for this client`);
    }
    // The admin API: A's admin sees only A's contexts and cannot end B's.
    const listed = (await (await api(keys.aAdmin, "/browser-contexts")).json()) as {
      contexts: { id: string }[];
    };
    expect(listed.contexts.length).toBeGreaterThan(0);
    expect(listed.contexts.map((c) => c.id)).not.toContain(bBrowser);
    const denied = await api(keys.aAdmin, `/browser-contexts/${bBrowser}`, "DELETE");
    expect(denied.status).toBe(404);
    expect(JSON.stringify(await denied.json())).toContain("No browser context");
    // A tools-only key may not use the admin routes at all.
    expect((await api(keys.a1, "/browser-contexts")).status).toBe(403);

    // B is untouched.
    const value = await tool(b, "chrome_evaluate", { expression: "document.getElementById('name').value" });
    expect(value.data.value).toBe("B's secret");
    expect((await tool(b, "chrome_get_cookies")).data.cookies).toMatchObject([{ name: "org", value: "b" }]);

    // B's admin sees and ends B's context; B's next call starts from a fresh one.
    const bListed = (await (await api(keys.bAdmin, "/browser-contexts")).json()) as {
      contexts: { id: string; server: string; client: string }[];
    };
    expect(bListed.contexts).toMatchObject([{ id: bBrowser, server: "devtools", client: "session" }]);
    expect((await api(keys.bAdmin, `/browser-contexts/${bBrowser}`, "DELETE")).status).toBe(200);
    expect((await tool(b, "chrome_get_cookies")).data.cookies).toEqual([]);
  }, 90_000);
});

describe("two stateless clients of one organization", () => {
  test("get their own contexts: cookies, form values, tabs and stop are per browser id", async () => {
    const first = await stateless(keys.a1, "chrome_start_browser");
    const second = await stateless(keys.a1, "chrome_start_browser");
    const one = String(first.data.browser);
    const two = String(second.data.browser);
    expect(two).not.toBe(one);
    // Without a handle a stateless client is told how to get one.
    expect((await stateless(keys.a1, "chrome_list_tabs")).text).toContain("call chrome_start_browser");

    await stateless(keys.a1, "chrome_navigate", { url: `${site.url}/form`, browser: one });
    await stateless(keys.a1, "chrome_navigate", { url: `${site.url}/form`, browser: two });
    await stateless(keys.a1, "chrome_type", { element: "#name", text: "first client", browser: one });
    await stateless(keys.a1, "chrome_set_cookie", { name: "client", value: "one", browser: one });
    const nameValue = async (browser: string, bearer = keys.a1) =>
      (
        await stateless(bearer, "chrome_evaluate", {
          expression: "document.getElementById('name').value",
          browser,
        })
      ).data.value;
    expect(await nameValue(two)).toBe("");
    expect((await stateless(keys.a1, "chrome_get_cookies", { browser: two })).data.cookies).toEqual([]);
    const tabsOne = (await stateless(keys.a1, "chrome_list_tabs", { browser: one })).data.tabs as {
      tabId: string;
    }[];
    expect(
      (await stateless(keys.a1, "chrome_select_tab", { tabId: tabsOne[0]!.tabId, browser: two })).text,
    ).toContain("No tab");
    // Another key of the same organization cannot use the first client's handle.
    expect((await stateless(keys.a2, "chrome_get_cookies", { browser: one })).text).toContain("No browser");
    expect((await stateless(keys.a2, "chrome_stop_browser", { browser: one })).text).toContain("No browser");

    // One client stopping its browser leaves the other's alone.
    expect((await stateless(keys.a1, "chrome_stop_browser", { browser: two })).data.closed).toBe(true);
    expect(await nameValue(one)).toBe("first client");
    expect((await stateless(keys.a1, "chrome_list_tabs", { browser: two })).text).toContain("was closed");

    // The admin list shows the stateless contexts with the key that owns them.
    const listed = (await (await api(keys.aAdmin, "/browser-contexts")).json()) as {
      contexts: { id: string; client: string; credentialId: string | null }[];
    };
    const mine = listed.contexts.find((c) => c.id === one);
    expect(mine?.client).toBe("stateless");
    expect(mine?.credentialId).toStartWith("key_");
    expect(listed.contexts.map((c) => c.id)).not.toContain(two);
    expect((await api(keys.aAdmin, `/browser-contexts/${one}`, "DELETE")).status).toBe(200);
    expect((await stateless(keys.a1, "chrome_list_tabs", { browser: one })).text).toContain(
      "ended by an administrator",
    );
  }, 90_000);
});

describe("fault: the DevTools server is SIGKILLed mid-call", () => {
  test("Chromium exits with it (pipe closed) and the gateway's call fails cleanly", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "omni-dt-fault-"));
    const port = 40250;
    const proc = Bun.spawn([process.execPath, "src/index.ts"], {
      cwd: join(import.meta.dir, "../../servers/devtools"),
      env: { ...process.env, PORT: String(port), TMPDIR: tmp, DEVTOOLS_ALLOW_PRIVATE_NETWORK: "false" },
      stdout: "pipe",
      stderr: "ignore",
    });
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes("listening on")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the devtools server did not start: ${out}`);
      out += new TextDecoder().decode(value);
    }
    void reader.cancel();
    const faultRegistry = new Registry({
      instances: [{ server: "devtools", url: `http://127.0.0.1:${port}` }],
      clientFactory: defaultClientFactory,
      healthIntervalMs: 600_000,
      logger: quiet,
    });
    await faultRegistry.start();
    const auth = createAuthModule({
      db: db.db,
      env: readAuthEnv({ CLERK_JWT_KEY: key.publicPem, CLERK_AUTHORIZED_PARTIES: AZP, CLERK_ISSUER: ISSUER }),
    });
    const faultGateway = createGateway({
      config,
      authenticator: auth.authenticator,
      registry: faultRegistry,
      logger: quiet,
      mcpAccess: auth.mcpAccess,
    }).listen({ port: 0, hostname: "127.0.0.1" });
    const faultUrl = `http://127.0.0.1:${faultGateway.server?.port}`;
    const chromium = () =>
      readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((entry) => {
          try {
            return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(tmp);
          } catch {
            return false;
          }
        })
        .map(Number);
    const alive = (pid: number) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
      } catch {
        return false;
      }
    };
    const client = new Client({ name: "devtools-fault", version: "1.0.0" });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${faultUrl}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${keys.a1}` } },
        }),
      );
      const started = (await client.callTool({
        name: "chrome_start_browser",
        arguments: {},
      })) as CallToolResult;
      expect(started.isError).toBeFalsy();
      const pids = chromium();
      expect(pids.length).toBeGreaterThan(0);
      // A call that would run for a minute; the server is killed while it runs.
      const call = client
        .callTool(
          { name: "chrome_wait_for", arguments: { text: "never appears", timeoutMs: 60_000 } },
          undefined,
          { timeout: 60_000 },
        )
        .then(
          (result) => ({ result: result as CallToolResult, error: null }),
          (error: unknown) => ({
            result: null,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      // Killed once the server is running the call (its /health counts calls in flight).
      const inflight = async () =>
        ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { inflight: number }).inflight;
      while ((await inflight()) === 0) await Bun.sleep(20);
      proc.kill("SIGKILL");
      await proc.exited;
      const outcome = await call;
      // The gateway answers the call with an error (a tool error or a JSON-RPC error), not a hang.
      const message = outcome.error ?? textOf(outcome.result!);
      expect(outcome.error !== null || outcome.result?.isError === true).toBe(true);
      expect(message).toContain('Server unavailable: no healthy instance of "devtools"');
      expect(message).not.toContain("at /");
      // Chromium read EOF on its DevTools pipe and exited: no orphan, by pid.
      while (pids.some(alive)) await Bun.sleep(50);
      expect(pids.filter(alive)).toEqual([]);
      // The gateway itself is fine.
      expect((await fetch(`${faultUrl}/health`)).status).toBeLessThan(600);
    } finally {
      await client.close().catch(() => {});
      await faultGateway.stop(true);
      faultRegistry.stop();
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 90_000);
});
