/**
 * `bun run --cwd admin screenshots`: every page at 1280 px and 390 px, in the system's light and dark
 * themes, saved as PNGs under `admin/screenshots/` (gitignored; CI keeps them as artifacts), against a
 * real gateway (Postgres when reachable, else PGlite) with some traffic so the charts have data.
 */
import { mkdirSync } from "node:fs";
import { devSignIn, settled, startWorld } from "../test/harness.ts";
import { mcpClient } from "../test/mcp.ts";
import { PAGES } from "../test/pages.ts";

if (process.argv.includes("--help")) {
  console.log(`usage: bun run --cwd admin screenshots [--pglite]

Builds the dashboard if needed, starts a gateway on a fresh database (Postgres at TEST_DATABASE_URL,
or PGlite with --pglite), makes a few MCP calls, and saves every page at 1280 px and 390 px in light
and dark to admin/screenshots/<page>-<width>-<theme>.png. The browser only loads loopback URLs.`);
  process.exit(0);
}

const out = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const world = await startWorld(process.argv.includes("--pglite") ? "pglite" : "postgres");
let saved = 0;
try {
  // Traffic for the Overview and a live session for the Sessions page.
  const client = await mcpClient(world.url, world.demoKey, "Claude Desktop");
  for (let i = 0; i < 12; i++)
    await client.callTool({ name: "notes_compose", arguments: { title: `note ${i}` } });
  for (let i = 0; i < 2; i++) await client.callTool({ name: "notes_fail", arguments: {} });
  await client.callTool({ name: "weather_forecast", arguments: { city: "Lyon" } });
  for (const theme of ["light", "dark"] as const) {
    for (const width of [1280, 390]) {
      const { context, page } = await world.page(width);
      await page.emulateMedia({ colorScheme: theme });
      await devSignIn(page);
      for (const [title, path] of PAGES) {
        await page.goto(path);
        await page.getByRole("heading", { level: 1, name: title }).waitFor();
        await settled(page);
        const name = path.replace(/^\/admin\/?/, "") || "overview";
        await page.screenshot({ path: `${out}${name}-${width}-${theme}.png`, fullPage: true });
        saved++;
      }
      await context.close();
    }
  }
  await client.close();
} finally {
  await world.stop();
}
if (world.blocked.length) {
  console.error(`the browser tried to leave loopback: ${world.blocked.join(", ")}`);
  process.exit(1);
}
console.log(`saved ${saved} screenshots to ${out}`);
