import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PERMISSIONS, type Permission } from "@omni/contracts";
import { createRepositories, createTestDatabase, type DbHandle, DEMO_ORG_ID, DEMO_USER_ID } from "@omni/db";
import { createGateway } from "@omni/gateway";
import {
  createApiKey,
  createAuthModule,
  createConfigService,
  createDevAuthenticator,
  createLogger,
  defaultClientFactory,
  Registry,
  readAuthEnv,
} from "@omni/gateway/testing";
import { defineTool, type RunningServer, type ServerDefinition, serve } from "@omni/kit";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import * as v from "valibot";
import { ensureBuilt } from "./build.ts";

/**
 * A real gateway (in-process, wired like gateway/src/index.ts: auth module, config service, registry,
 * admin API, the built dashboard at /admin) on a fresh Postgres or PGlite database, two kit-built domain
 * servers, and one headless Chromium whose pages may only reach loopback.
 */

const dist = new URL("../dist", import.meta.url).pathname;

/** "notes": a tool with a nested schema (object, array, enum, defaults) and one that fails. */
const notes: ServerDefinition = {
  name: "notes",
  version: "1.0.0",
  title: "Notes (test)",
  tools: [
    defineTool({
      name: "notes_compose",
      description: "Composes a note from a title, tags and options",
      input: v.object({
        title: v.pipe(v.string(), v.minLength(1)),
        tone: v.optional(v.picklist(["plain", "loud"]), "plain"),
        tags: v.optional(v.array(v.string())),
        options: v.optional(v.object({ repeat: v.optional(v.number(), 1), signed: v.optional(v.boolean()) })),
      }),
      annotations: { readOnlyHint: true, idempotentHint: true },
      handler: ({ title, tone, tags, options }) => {
        const text = tone === "loud" ? title.toUpperCase() : title;
        const body = Array.from({ length: options?.repeat ?? 1 }, () => text).join(" ");
        return `${body}${tags?.length ? ` #${tags.join(" #")}` : ""}${options?.signed ? " — signed" : ""}`;
      },
    }),
    defineTool({
      name: "notes_fail",
      description: "Always fails (to see isError results)",
      input: v.object({}),
      annotations: { destructiveHint: false },
      handler: () => {
        throw new Error("notes_fail always fails: this is its job");
      },
    }),
  ],
};

/** "weather": a second server, to enable and disable. */
const weather: ServerDefinition = {
  name: "weather",
  version: "1.0.0",
  title: "Weather (test)",
  tools: [
    defineTool({
      name: "weather_forecast",
      description: "A forecast for a city",
      input: v.object({ city: v.string() }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      handler: ({ city }) => `Sunny in ${city}`,
    }),
  ],
};

export interface World {
  url: string;
  db: DbHandle;
  repos: ReturnType<typeof createRepositories>;
  /** A second organization with its owner's key (for the org switcher). */
  orgB: { id: string; name: string; ownerKey: string };
  /** An owner key of the demo organization. */
  demoKey: string;
  /** A read-only key of the demo organization (admin:read only). */
  readOnlyKey: string;
  browser: Browser;
  /** Every non-loopback URL a page tried to load (each test asserts it stays empty). */
  blocked: string[];
  /** A fresh browser context (own sessionStorage) at the given viewport width. */
  page(width?: number): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

function isLoopback(url: string): boolean {
  if (url.startsWith("data:") || url.startsWith("blob:") || url === "about:blank") return true;
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

export async function startWorld(driver: "postgres" | "pglite"): Promise<World> {
  await ensureBuilt();
  const db = await createTestDatabase(driver, { seed: true });
  if (!db) throw new Error("Postgres at 127.0.0.1:5432 is required (TEST_DATABASE_URL)");
  const repos = createRepositories(db.db);
  const original = console.log;
  console.log = () => {};
  let running: RunningServer[];
  try {
    running = [notes, weather].map((def) => serve(def, { port: 0, hostname: "127.0.0.1", mcp: false }));
  } finally {
    console.log = original;
  }
  // Org B with an owner, both servers registered and enabled in both orgs.
  const orgB = await repos.organizations.create({
    slug: `beta-${crypto.randomUUID().slice(0, 6)}`,
    name: "Beta Labs",
  });
  const ownerB = await repos.users.create({ email: "owner@beta.test", name: "Beta Owner" });
  await repos.memberships.add(orgB.id, { userId: ownerB.id, role: "owner" });
  for (const def of [notes, weather]) {
    const row = await repos.servers.upsert({ name: def.name, title: def.title ?? def.name });
    await repos.services.upsert(DEMO_ORG_ID, row.id, { enabled: true });
    await repos.services.upsert(orgB.id, row.id, { enabled: true });
  }
  const mint = async (orgId: string, userId: string, scopes: Permission[], name: string) =>
    (await createApiKey(repos, orgId, userId, { name, scopes })).secret;
  const all = [...PERMISSIONS];
  const demoKey = await mint(DEMO_ORG_ID, DEMO_USER_ID, all, "test owner key");
  const readOnlyKey = await mint(DEMO_ORG_ID, DEMO_USER_ID, ["admin:read", "tools:call"], "read-only key");
  const ownerKey = await mint(orgB.id, ownerB.id, all, "beta owner key");

  // The audit chain's checkpoints (and dev keys) go to OMNI_DATA_DIR: a fresh one per world, so a former
  // run's checkpoint of the demo org never meets this run's fresh database.
  const dataDir = mkdtempSync(join(tmpdir(), "omni-admin-test-"));
  process.env.OMNI_DATA_DIR = dataDir;
  const config = createConfigService({ db: db.db, keys: { OMNI_DATA_DIR: dataDir }, logger: quiet });
  await config.ready;
  const auth = createAuthModule({
    db: db.db,
    keys: { OMNI_DATA_DIR: dataDir },
    dataDir,
    env: readAuthEnv({ RATE_LIMIT_PER_KEY: "0", RATE_LIMIT_PER_ORG: "0" }),
    logger: createLogger({ level: "silent" }),
  });
  const registry = new Registry({
    instances: running.map((r, i) => ({ server: [notes, weather][i]!.name, url: r.url })),
    clientFactory: defaultClientFactory,
    healthIntervalMs: 1000,
    logger: quiet,
  });
  await registry.start();
  const app = createGateway({
    config,
    // Development mode as `bun run dev` runs it: requests without credentials act as the demo org.
    authenticator: createDevAuthenticator(DEMO_ORG_ID, auth.authenticator),
    registry,
    logger: quiet,
    security: { ...auth.security, accessLog: false },
    mcpAccess: auth.mcpAccess,
    admin: {
      db: db.db,
      config,
      resolveOrg: auth.resolveOrg,
      audit: auth.audit,
      auth,
      devMode: true,
      adminDist: dist,
    },
  }).listen({ port: 0, hostname: "127.0.0.1", idleTimeout: 0 });
  const url = `http://127.0.0.1:${app.server?.port}`;

  const browser = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const blocked: string[] = [];
  return {
    url,
    db,
    repos,
    orgB: { id: orgB.id, name: orgB.name, ownerKey },
    demoKey,
    readOnlyKey,
    browser,
    blocked,
    async page(width = 1280) {
      const context = await browser.newContext({
        viewport: { width, height: width < 600 ? 844 : 900 },
        baseURL: url,
        permissions: ["clipboard-read", "clipboard-write"],
      });
      await context.route("**/*", (route) => {
        const target = route.request().url();
        if (isLoopback(target)) return route.continue();
        blocked.push(target);
        return route.abort("blockedbyclient");
      });
      return { context, page: await context.newPage() };
    },
    async stop() {
      await browser.close().catch(() => {});
      await app.stop(true);
      registry.stop();
      await config.close();
      await Promise.all(running.map((r) => r.stop().catch(() => {})));
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signs a fresh page in as the demo organization (development mode). */
export async function devSignIn(page: Page): Promise<void> {
  await page.goto("/admin/");
  await page.getByRole("button", { name: "Continue as the demo organization" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Waits until no loading state is left on the page. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector(".state[role=status]"), undefined, {
    timeout: 10_000,
  });
}

/** Signs a fresh page in with an API key through the sign-in form. */
export async function signInWithKey(page: Page, key: string): Promise<void> {
  await page.goto("/admin/");
  await page.getByLabel("API key", { exact: true }).fill(key);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}
