import { afterAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createApp } from "../src/app.ts";
import { readOptions } from "../src/config.ts";
import { createDevtoolsServer } from "../src/server.ts";
import { pngSize } from "./fixtures/harness.ts";
import { type Site, startSite } from "./fixtures/site.ts";

// The standalone /mcp endpoint, driven in-process by the MCP SDK client; one Chromium for this file.
const def = createDevtoolsServer(
  readOptions({ ...process.env, DEVTOOLS_IDLE_MS: "600000", DEVTOOLS_ALLOW_PRIVATE_NETWORK: "true" }),
);
const app = createApp(def);
const site: Site = startSite();
const clients: Client[] = [];

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await def.close?.();
  await site.stop();
}, 20_000);

async function connect(): Promise<Client> {
  const client = new Client({ name: "devtools-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL("http://127.0.0.1/mcp"), {
      fetch: (input, init) => app.handle(new Request(input, init)),
    }),
  );
  clients.push(client);
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("\n");
}

test("tools are listed with annotations and described input schemas", async () => {
  const client = await connect();
  const { tools } = await client.listTools();
  expect(tools.length).toBeGreaterThanOrEqual(40);
  const undescribed: string[] = [];
  for (const tool of tools) {
    expect(tool.name).toMatch(/^chrome_[a-z_]+$/);
    expect(tool.annotations).toMatchObject({
      readOnlyHint: expect.any(Boolean),
      destructiveHint: expect.any(Boolean),
      idempotentHint: expect.any(Boolean),
      openWorldHint: expect.any(Boolean),
    });
    for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
      if (!JSON.stringify(schema).includes('"description"')) undescribed.push(`${tool.name}.${field}`);
    }
  }
  expect(undescribed).toEqual([]);
});

test("an MCP session drives its own browser context: navigate, snapshot, screenshot, resources", async () => {
  const a = await connect();
  const b = await connect();
  const nav = await a.callTool({ name: "chrome_navigate", arguments: { url: `${site.url}/form` } });
  expect(nav.isError).toBeFalsy();
  expect(textOf(nav)).toContain('"Form"');
  const snap = await a.callTool({ name: "chrome_snapshot", arguments: {} });
  const ref = /textbox "Name" \[ref=(e\d+)\]/.exec(textOf(snap))?.[1];
  expect(ref).toBeDefined();
  await a.callTool({ name: "chrome_type", arguments: { element: ref, text: "via MCP" } });
  const value = await a.callTool({
    name: "chrome_evaluate",
    arguments: { expression: "document.getElementById('name').value" },
  });
  expect(textOf(value)).toBe('"via MCP"');

  await a.callTool({ name: "chrome_set_viewport", arguments: { width: 640, height: 480 } });
  const shot = await a.callTool({ name: "chrome_screenshot", arguments: {} });
  const image = (shot.content as { type: string; data?: string; mimeType?: string }[])[0];
  expect(image?.mimeType).toBe("image/png");
  expect(pngSize(image?.data ?? "")).toEqual({ width: 640, height: 480 });

  await a.callTool({ name: "chrome_set_cookie", arguments: { name: "mcp", value: "a" } });
  await b.callTool({ name: "chrome_navigate", arguments: { url: `${site.url}/form` } });
  const cookiesB = await b.callTool({ name: "chrome_get_cookies", arguments: {} });
  expect(cookiesB.structuredContent).toEqual({ cookies: [] });

  const tabs = await a.readResource({ uri: "devtools://tabs" });
  const first = tabs.contents[0];
  const parsed = JSON.parse(first && "text" in first ? first.text : "{}") as { tabs: { url: string }[] };
  expect(parsed.tabs.map((t) => t.url)).toEqual([`${site.url}/form`]);

  // A screencast saved as an artifact: listed as a template, read by its own session only.
  const { resourceTemplates } = await a.listResourceTemplates();
  expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("devtools://artifacts/{id}");
  await a.callTool({ name: "chrome_start_screencast", arguments: { maxWidth: 320, maxHeight: 240 } });
  await a.callTool({
    name: "chrome_evaluate",
    arguments: { expression: "document.body.style.background = 'blue'; 1" },
  });
  await a.callTool({ name: "chrome_wait_for", arguments: { timeoutMs: 200 } });
  const cast = await a.callTool({ name: "chrome_stop_screencast", arguments: { output: "frames" } });
  const link = (cast.content as { type: string; uri?: string }[]).find((c) => c.type === "resource_link");
  expect(link?.uri).toStartWith("devtools://artifacts/screencast-");
  const frames = await a.readResource({ uri: link?.uri ?? "" });
  const framesText = frames.contents[0];
  expect(
    JSON.parse(framesText && "text" in framesText ? framesText.text : "{}").frames.length,
  ).toBeGreaterThan(0);
  await expect(b.readResource({ uri: link?.uri ?? "" })).rejects.toThrow();

  const bad = await a.callTool({ name: "chrome_navigate", arguments: { url: "file:///etc/passwd" } });
  expect(bad.isError).toBe(true);
  expect(textOf(bad)).toContain("scheme is blocked");
}, 60_000);
