import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { type Site, startSite } from "./fixtures/site.ts";

// The stdio entry (`bun src/stdio.ts`) spawned by the MCP SDK's stdio client; one Chromium for this file.
const site: Site = startSite();
// A private TMPDIR for the child, so the launched Chromium's profile directory can be watched.
const childTmp = mkdtempSync(join(tmpdir(), "omni-stdio-test-"));

afterAll(async () => {
  await site.stop();
  rmSync(childTmp, { recursive: true, force: true });
}, 20_000);

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

test("stdio: list tools, navigate and read a local page, then shut Chromium down on close", async () => {
  const env: Record<string, string> = {};
  for (const [k, value] of Object.entries(process.env)) if (value !== undefined) env[k] = value;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["src/stdio.ts"],
    cwd: join(import.meta.dir, ".."),
    env: { ...env, TMPDIR: childTmp, DEVTOOLS_IDLE_MS: "600000" },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: "devtools-stdio-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBeString();

    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain("chrome_navigate");
    expect(names).toContain("chrome_get_text");
    expect(names.every((n) => n.startsWith("chrome_"))).toBe(true);

    const nav = await client.callTool({ name: "chrome_navigate", arguments: { url: `${site.url}/` } });
    expect(nav.isError).toBeFalsy();
    expect(textOf(nav)).toContain('"Home"');
    // Chromium runs and its profile lives in the child's TMPDIR.
    expect(readdirSync(childTmp).filter((d) => d.startsWith("omni-chromium-"))).toHaveLength(1);

    const text = await client.callTool({ name: "chrome_get_text", arguments: { element: "h1" } });
    expect(text.isError).toBeFalsy();
    expect(textOf(text)).toContain("Welcome home");

    const bad = await client.callTool({ name: "chrome_navigate", arguments: { url: "file:///etc/passwd" } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toContain("scheme is blocked");

    // Bad input is a JSON-RPC invalid-params error naming the field; the server keeps running.
    await expect(client.callTool({ name: "chrome_navigate", arguments: { url: 42 } })).rejects.toThrow(
      /-32602.*url: Invalid type/,
    );
    expect((await client.listTools()).tools.length).toBe(tools.length);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- server stderr ---\n${stderr}`);
  } finally {
    await client.close();
  }
  // Closing stdin ends the server, which stops Chromium and removes its profile directory.
  expect(readdirSync(childTmp).filter((d) => d.startsWith("omni-chromium-"))).toEqual([]);
}, 60_000);
