import { afterAll, beforeAll, expect, test } from "bun:test";
import { devSignIn, startWorld, type World } from "./harness.ts";
import { mcpClient } from "./mcp.ts";

/** The same dashboard on PGlite (the embedded database `bun run dev` uses): a prompt, a key, usage. */
let world: World;
beforeAll(async () => {
  world = await startWorld("pglite");
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

test("on PGlite: create a prompt that an MCP client gets, and the Overview counts the calls", async () => {
  const { context, page } = await world.page(1280);
  try {
    await devSignIn(page);
    await page.goto("/admin/prompts");
    await page.getByRole("button", { name: "New prompt" }).click();
    await page.getByLabel("Name", { exact: true }).fill("standup");
    await page.getByLabel("Message 1 text").fill("Summarise yesterday's work.");
    await page.getByRole("button", { name: "Render" }).click();
    expect(await page.getByTestId("rendered").textContent()).toContain("Summarise yesterday's work.");
    await page.getByRole("button", { name: "Save prompt" }).click();
    await page.getByText('Saved prompt "standup".').waitFor();

    const client = await mcpClient(world.url, world.demoKey);
    try {
      const prompt = await client.getPrompt({ name: "standup" });
      expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Summarise yesterday's work." });
      for (let i = 0; i < 3; i++)
        await client.callTool({ name: "notes_compose", arguments: { title: `t${i}` } });
    } finally {
      await client.close();
    }
    await page.goto("/admin/");
    await page.waitForFunction(() => document.querySelector("[data-testid=calls]")?.textContent === "3");
    expect(await page.getByRole("cell", { name: "notes_compose" }).isVisible()).toBe(true);
  } finally {
    await context.close();
  }
  expect(world.blocked).toEqual([]);
}, 60_000);
