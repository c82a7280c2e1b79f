import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { DEMO_ORG_ID } from "@omni/db";
import type { BrowserContext, Page } from "playwright-core";
import { seriousViolations } from "./axe.ts";
import { devSignIn, settled, signInWithKey, startWorld, type World } from "./harness.ts";
import { mcpClient } from "./mcp.ts";
import { PAGES } from "./pages.ts";

/**
 * The dashboard in a real Chromium against a real gateway on Postgres: sign-in, org switching, prompts,
 * keys, services, the playground, audit and sessions, each checked through the UI and from an MCP client.
 * One gateway and one browser for the file; a fresh context (own sessionStorage) per test.
 */
let world: World;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  world = await startWorld("postgres");
}, 60_000);
afterAll(async () => {
  await world?.stop();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  // The browser never loaded anything but loopback.
  expect(world.blocked).toEqual([]);
});

async function open(width = 1280): Promise<Page> {
  const { context, page } = await world.page(width);
  contexts.push(context);
  return page;
}

test("development-mode sign-in: the demo organization, clearly marked; every page renders and passes axe", async () => {
  const page = await open();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await devSignIn(page);
  await expect(page.getByText("Development mode · demo organization")).toBeTruthy();
  expect(await page.getByText("Development mode · demo organization").isVisible()).toBe(true);
  expect(await page.getByLabel("Organization").inputValue()).toBe(DEMO_ORG_ID);
  expect(await page.getByTestId("role").textContent()).toBe("owner");
  for (const [heading, path] of PAGES) {
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.goto(path);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    // Wait for the page's data (no loading state left).
    await settled(page);
    const violations = await seriousViolations(page);
    expect({ page: heading, violations }).toEqual({ page: heading, violations: [] });
  }
  // The key is held in sessionStorage, never localStorage.
  const storage = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.getItem("omni.admin.keys"),
  }));
  expect(storage.local).toBe(0);
  expect(storage.session).toContain("omni_sk_");
  expect(errors).toEqual([]);
}, 90_000);

test("API-key sign-in, organization switch, and a read-only key sees disabled actions with the reason", async () => {
  const page = await open();
  // A bad key is refused with the gateway's reason.
  await page.goto("/admin/");
  await page.getByLabel("API key", { exact: true }).fill("omni_sk_nope");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "malformed" }).waitFor();

  await signInWithKey(page, world.demoKey);
  expect(await page.getByLabel("Organization").inputValue()).toBe(DEMO_ORG_ID);
  // Add organization B with its owner key, then switch back and forth.
  await page.getByLabel("Organization").selectOption("__add");
  await page.getByLabel("API key", { exact: true }).fill(world.orgB.ownerKey);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  expect(await page.getByLabel("Organization").inputValue()).toBe(world.orgB.id);
  await page.goto("/admin/settings");
  expect(await page.getByLabel("Name").inputValue()).toBe("Beta Labs");
  await page.getByLabel("Organization").selectOption(DEMO_ORG_ID);
  await page.getByRole("heading", { level: 1, name: "Organization settings" }).waitFor();
  await page.waitForFunction(
    () => (document.querySelector("#o-name") as HTMLInputElement | null)?.value === "Demo Organization",
  );

  // A read-only key: actions are disabled and say why.
  const readOnly = await open();
  await signInWithKey(readOnly, world.readOnlyKey);
  await readOnly.goto("/admin/prompts");
  const create = readOnly.getByRole("button", { name: "New prompt" });
  await create.waitFor();
  expect(await create.isDisabled()).toBe(true);
  expect(await readOnly.getByText('Needs the "admin:write" permission').first().isVisible()).toBe(true);
  // Pages it cannot read say so instead of failing.
  await readOnly.goto("/admin/keys");
  await readOnly.getByText("API keys is not available to you.").waitFor();
}, 60_000);

test("create and edit a prompt, see the test panel's output, then an MCP client's prompts/get returns it", async () => {
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/prompts");
  await page.getByRole("button", { name: "New prompt" }).click();
  await page.getByLabel("Name", { exact: true }).fill("release_notes");
  await page.getByLabel("Title").fill("Release notes");
  await page.getByRole("button", { name: "Add argument" }).click();
  await page.locator("#a-name-0").fill("version");
  await page.locator("#a-enum-0").fill("1.0, 2.0");
  await page.locator("#a-def-0").fill("1.0");
  await page.getByLabel("Message 1 text").fill("Write release notes for {{version}}.");
  await page.getByLabel("version", { exact: true }).selectOption("2.0");
  await page.getByRole("button", { name: "Render" }).click();
  expect(await page.getByTestId("rendered").textContent()).toContain("Write release notes for 2.0.");
  await page.getByRole("button", { name: "Save prompt" }).click();
  await page.getByText('Saved prompt "release_notes".').waitFor();

  // Edit it: new text.
  await page.getByRole("button", { name: "Edit release_notes" }).click();
  await page.getByLabel("Message 1 text").fill("Summarise version {{version}} for customers.");
  await page.getByRole("button", { name: "Save prompt" }).click();
  await page.getByText('Saved prompt "release_notes".').waitFor();
  await page.getByRole("button", { name: "custom" }).click();
  await page
    .getByRole("cell", { name: /^release_notes/ })
    .first()
    .waitFor();
  expect(await page.getByRole("button", { name: "Edit release_notes" }).count()).toBe(1);

  const client = await mcpClient(world.url, world.demoKey);
  try {
    const result = await client.getPrompt({ name: "release_notes", arguments: { version: "2.0" } });
    expect(result.messages[0]?.content).toEqual({
      type: "text",
      text: "Summarise version 2.0 for customers.",
    });
  } finally {
    await client.close();
  }
}, 60_000);

test("create a key, use it from an MCP client, revoke it, and the client is refused", async () => {
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/keys");
  await page.getByLabel("Name").fill("ci robot");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("new-key").textContent()) ?? "";
  expect(secret).toStartWith("omni_sk_");
  await page.getByRole("button", { name: "Copy" }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  const client = await mcpClient(world.url, secret, "robot");
  expect((await client.listTools()).tools.map((t) => t.name)).toContain("notes_compose");
  await client.close();

  await page.getByRole("button", { name: "Done" }).click();
  expect(await page.getByTestId("new-key").count()).toBe(0);
  await page.getByRole("button", { name: "Revoke ci robot" }).click();
  await page.getByText("Revoked ci robot.").waitFor();
  const refused = await mcpClient(world.url, secret, "robot").then(
    () => "connected",
    (error: unknown) => String(error),
  );
  expect(refused).toContain("This API key was revoked");
}, 60_000);

test("disabling a service removes its tools from tools/list; enabling brings them back", async () => {
  const page = await open();
  await devSignIn(page);
  const client = await mcpClient(world.url, world.demoKey);
  try {
    const names = async () => (await client.listTools()).tools.map((t) => t.name);
    expect(await names()).toContain("weather_forecast");
    await page.goto("/admin/servers");
    await page.getByRole("button", { name: "Disable weather" }).click();
    await page.getByText("Disabled weather.").waitFor();
    expect(await names()).not.toContain("weather_forecast");
    expect(await names()).toContain("notes_compose");
    await page.getByRole("button", { name: "Enable weather" }).click();
    await page.getByText("Enabled weather.").waitFor();
    expect(await names()).toContain("weather_forecast");
  } finally {
    await client.close();
  }
}, 60_000);

test("the playground builds a form from the tool's JSON Schema and calls it through /mcp", async () => {
  const page = await open(390);
  await devSignIn(page);
  await page.goto("/admin/tools");
  await page.getByRole("button", { name: "notes_compose" }).click();
  await page.getByLabel("title (required)").fill("ship it");
  await page.getByLabel("tone").selectOption({ label: "loud" });
  await page.getByRole("button", { name: "Add tags item" }).click();
  await page.getByLabel("tags item 1").fill("release");
  await page.getByLabel("repeat").fill("2");
  await page.getByLabel("signed").check();
  await page.getByRole("button", { name: "Call tool" }).click();
  const result = page.getByTestId("tool-result");
  await result.waitFor();
  expect(await result.getByTestId("content-text").textContent()).toBe("SHIP IT SHIP IT #release — signed");
  expect(await result.getByText("ok", { exact: true }).isVisible()).toBe(true);
  expect(await result.getByTestId("timing").textContent()).toMatch(/\d+ ms|s$/);

  await page.getByRole("button", { name: "notes_fail" }).click();
  await page.getByRole("button", { name: "Call tool" }).click();
  await page.getByTestId("tool-result").getByText("isError").waitFor();
  expect(await page.getByTestId("content-text").textContent()).toContain("always fails");
}, 60_000);

test("the audit log filters by action and target, shows a diff, and the chain verifies", async () => {
  const page = await open();
  await devSignIn(page);
  // Make a change to find: rename the org.
  await page.goto("/admin/settings");
  await page.getByLabel("Name").fill("Demo Org Renamed");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Settings saved.").waitFor();

  await page.goto("/admin/audit");
  await page.getByTestId("chain-status").getByText("intact").waitFor();
  await page.getByLabel("Action (e.g. prompt.update, or prompt.)").fill("org.settings.update");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/action=org\.settings\.update/);
  const entries = page.getByTestId("audit-list").locator("li");
  await page.waitForFunction(() =>
    [...document.querySelectorAll("[data-testid=audit-list] li")].every((li) =>
      li.textContent?.includes("org.settings.update"),
    ),
  );
  expect(await entries.count()).toBe(1);
  await entries.first().getByRole("button").click();
  expect(await page.locator("table.diff").textContent()).toContain("Demo Org Renamed");

  // Filter by a target that has no entries.
  await page.getByLabel("Action (e.g. prompt.update, or prompt.)").fill("");
  await page.getByLabel("Target (id or type:id)").fill("organization:org_nope");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.getByText("Nothing matches these filters.").waitFor();
}, 60_000);

test("ending a session on the Sessions page ends it for the client", async () => {
  const client = await mcpClient(world.url, world.demoKey, "doomed-client");
  expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/sessions");
  const row = page.getByRole("row").filter({ hasText: "doomed-client" });
  await row.waitFor();
  expect(await row.textContent()).toContain("9.9.9");
  await row.getByRole("button", { name: "End session of doomed-client" }).click();
  await page.getByText("Session ended.").waitFor();
  // The notice comes before the list's reload: wait for the reloaded list instead of racing it.
  await page.getByRole("row").filter({ hasText: "doomed-client" }).waitFor({ state: "detached" });
  const after = await client.listTools().then(
    () => "still works",
    (error: unknown) => String(error),
  );
  expect(after).toContain("Session not found");
  await client.close().catch(() => {});
}, 60_000);

test("tool policy by keyboard: an owners' allow-list with a rename, seen by an MCP client; a discovery bundle", async () => {
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/policy");
  await page.getByRole("heading", { level: 1, name: "Tool policy" }).waitFor();
  await page.getByTestId("policy-weather_forecast").waitFor();
  await page.getByLabel("Applies to").selectOption("owner");
  await page.getByLabel("the only ones shown (allow-list)").check();
  const allow = page.getByLabel("Allow weather_forecast");
  await allow.focus();
  await page.keyboard.press("Space");
  expect(await allow.isChecked()).toBe(true);
  await page.getByLabel("New name for weather_forecast").fill("forecast");
  await page.getByLabel("New name for weather_forecast").press("Enter");
  await page.getByText("Owners: policy saved.").waitFor();
  // The table now says who sees what: owners no longer see notes_compose.
  await page.waitForFunction(
    () => !document.querySelector('[data-testid="policy-notes_compose"]')?.textContent?.includes("owner"),
  );

  const client = await mcpClient(world.url, world.demoKey);
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["forecast"]);
  } finally {
    await client.close();
  }

  await page.getByLabel("Slug").fill("team");
  await page.getByLabel(/^Tools \(one name/).fill("notes_*");
  await page.getByLabel("Progressive discovery (search_tools + call_tool)").check();
  await page.getByRole("button", { name: "Create bundle" }).click();
  await page.getByText("Bundle team created.").waitFor();
  const row = page.getByTestId("bundle-team");
  await row.getByText("discovery").waitFor();
  expect(await row.textContent()).toContain("/mcp/b/team");
  // A bad slug is refused by the form; a duplicate by the API, with its message.
  await page.getByLabel("Slug").fill("team");
  await page.getByRole("button", { name: "Create bundle" }).click();
  await page.getByText('a bundle with slug "team" already exists').waitFor();

  await page.getByRole("button", { name: "Delete bundle team" }).click();
  await page.getByText("Bundle team deleted.").waitFor();
  await page.getByRole("button", { name: "Remove this policy" }).click();
  await page.getByText("Owners: policy removed.").waitFor();
  const after = await mcpClient(world.url, world.demoKey);
  try {
    expect((await after.listTools()).tools.map((t) => t.name)).toContain("notes_compose");
  } finally {
    await after.close();
  }
}, 60_000);

test("federated servers by keyboard: a private URL is refused with the reason, a public one is registered, then removed", async () => {
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/federation");
  await page.getByRole("heading", { level: 1, name: "Federated servers" }).waitFor();
  await page.getByText("No federated servers yet").waitFor();

  // Keyboard only: focus the first field, type, Tab between fields, Enter submits.
  const fill = async (label: string, value: string) => {
    await page.getByLabel(label, { exact: true }).focus();
    await page.keyboard.type(value);
  };
  await fill("Name", "Metadata");
  await fill("Prefix", "meta");
  await fill("URL", "http://169.254.169.254/latest");
  await page.keyboard.press("Enter");
  await page.getByText("FEDERATION_ALLOWED_PRIVATE_HOSTS").waitFor();
  expect(await page.getByTestId("upstream-meta").count()).toBe(0);

  // A public address is stored only: this gateway runs no federation module, so nothing connects to it
  // (and the browser never loads it: `world.blocked` stays empty).
  await page.getByLabel("URL", { exact: true }).fill("");
  await fill("URL", "https://93.184.216.34/mcp");
  await fill("Auth header value (optional; stored encrypted, never shown again)", "s3cret");
  await page.keyboard.press("Enter");
  await page.getByText("Registered Metadata: its tools appear as meta_<tool>.").waitFor();
  const row = page.getByTestId("upstream-meta");
  await row.waitFor();
  expect(await row.textContent()).toContain("idle");
  expect(await row.textContent()).toContain("auth");
  expect(await page.content()).not.toContain("s3cret");

  await page.getByRole("button", { name: "Remove Metadata" }).focus();
  await page.keyboard.press("Enter");
  await page.getByText("Removed Metadata.").waitFor();
  await page.getByText("No federated servers yet").waitFor();
}, 60_000);

test("API keys by keyboard: sorted by name both ways, kept across a reload; revoking keeps the focus in the table", async () => {
  const page = await open();
  await devSignIn(page);
  await page.goto("/admin/keys");
  const table = page.getByRole("table", { name: "API keys" });
  const header = table.getByRole("columnheader", { name: "Key" });
  const names = () => table.locator("tbody tr td:first-child strong").allTextContents();
  await table.locator("tbody tr").nth(1).waitFor();
  const before = await names();
  const sorted = [...before].sort((a, b) => a.localeCompare(b));
  expect(await header.getAttribute("aria-sort")).toBe("none");

  await header.getByRole("button").focus();
  await page.keyboard.press("Enter");
  expect(await header.getAttribute("aria-sort")).toBe("ascending");
  expect(await names()).toEqual(sorted);
  await page.keyboard.press("Enter");
  expect(await header.getAttribute("aria-sort")).toBe("descending");
  expect(await names()).toEqual([...sorted].reverse());

  // A new key reloads the list: the order stays, and the new row takes its place in it.
  await page.getByLabel("Name").fill("aaa sorted last");
  await page.getByRole("button", { name: "Create key" }).click();
  await table.getByRole("row").filter({ hasText: "aaa sorted last" }).waitFor();
  expect(await names()).toEqual([...sorted, "aaa sorted last"].sort((a, b) => b.localeCompare(a)));

  // Revoking by keyboard replaces the focused button: the focus stays in the table, on a row's control.
  await page.getByRole("button", { name: "Revoke aaa sorted last" }).focus();
  await page.keyboard.press("Enter");
  await page.getByText("Revoked aaa sorted last.").waitFor();
  await table
    .getByRole("row")
    .filter({ hasText: "aaa sorted last" })
    .getByText(/^revoked /)
    .waitFor();
  await page.waitForFunction(() => Boolean(document.activeElement?.closest("tbody tr")));
  expect(
    await page.evaluate(
      () => document.activeElement?.closest("table")?.querySelector("caption")?.textContent,
    ),
  ).toBe("API keys");
}, 60_000);
