import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { DEMO_ORG_ID } from "@omni/db";
import { createDevtoolsServer } from "@omni/server-devtools";
import { type Site, startSite } from "../../servers/devtools/test/fixtures/site.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * The real DevTools server (real Chromium at /usr/bin/chromium) behind the real gateway: EVERY tool it
 * lists is called through `/mcp` with the MCP SDK v1 Client against local pages this test serves, and
 * each result is checked. The last test reports how many tools passed and fails unless all did.
 */
let stack: Stack;
let site: Site;
let client: Client;
let listed: string[] = [];
const passed = new Set<string>();
const failures = new Map<string, string>();

beforeAll(async () => {
  site = startSite();
  stack = await startStack({ servers: [createDevtoolsServer()] });
  // The pages are served on loopback, which the default URL policy denies: the org opts in.
  const row = await stack.repos.servers.upsert({ name: "devtools", title: "Chrome DevTools" });
  await stack.repos.services.upsert(DEMO_ORG_ID, row.id, { settings: { allowPrivateNetwork: true } });
  client = new Client({ name: "devtools-e2e", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  listed = (await client.listTools()).tools.map((t) => t.name).sort();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await site?.stop();
}, 30_000);

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
}

/** Calls a tool that must succeed; records it as passed only if `check` (when given) holds too. */
async function ok(
  name: string,
  args: Record<string, unknown> = {},
  check?: (data: Record<string, unknown>, result: CallToolResult) => void,
): Promise<{ data: Record<string, unknown>; text: string; result: CallToolResult }> {
  try {
    const result = (await client.callTool({ name, arguments: args }, undefined, {
      timeout: 60_000,
    })) as CallToolResult;
    if (result.isError) throw new Error(`tool error: ${textOf(result)}`);
    const data = result.structuredContent ?? {};
    check?.(data, result);
    if (!failures.has(name)) passed.add(name);
    return { data, text: textOf(result), result };
  } catch (error) {
    passed.delete(name);
    failures.set(name, error instanceof Error ? error.message : String(error));
    throw error;
  }
}

const evaluate = async (expression: string) => (await ok("chrome_evaluate", { expression })).data.value;

const T = 120_000;

test(
  "browser and tabs",
  async () => {
    await ok("chrome_start_browser", {}, (d) => {
      expect(String(d.version)).toContain("Chrome/");
      expect(String(d.browser)).toMatch(/^br_/);
    });
    await ok("chrome_browser_status", {}, (d) =>
      expect((d.browser as { state: string }).state).toBe("running"),
    );
    const first = ((await ok("chrome_list_tabs")).data.tabs as { tabId: string }[])[0]?.tabId ?? "";
    const opened = await ok("chrome_new_tab", { url: `${site.url}/second` }, (d) =>
      expect(d.title).toBe("Second"),
    );
    await ok("chrome_select_tab", { tabId: first }, (d) => expect(JSON.stringify(d)).toContain(first));
    await ok("chrome_close_tab", { tabId: String(opened.data.tabId) }, (d) => expect(d.remaining).toBe(1));
  },
  T,
);

test(
  "navigation and waiting",
  async () => {
    await ok("chrome_navigate", { url: `${site.url}/second` }, (d) => expect(d.title).toBe("Second"));
    await ok("chrome_wait_for", { text: "Loaded late", timeoutMs: 5000 });
    await ok("chrome_navigate", { url: `${site.url}/` });
    await ok("chrome_go_back", {}, (d) => expect(d.url).toBe(`${site.url}/second`));
    await ok("chrome_go_forward", {}, (d) => expect(d.url).toBe(`${site.url}/`));
    await evaluate("window.marker = 1");
    await ok("chrome_reload", {}, (d) => expect(d.url).toBe(`${site.url}/`));
    expect(await evaluate("typeof window.marker")).toBe("undefined");
  },
  T,
);

test(
  "reading the page and input",
  async () => {
    await ok("chrome_navigate", { url: `${site.url}/` });
    await ok("chrome_snapshot", {}, (d) => expect(String(d.snapshot)).toContain('link "Second"'));
    await ok("chrome_query_selector", { selector: "a" }, (_d, r) => expect(textOf(r)).toContain("Second"));
    await ok("chrome_get_text", { element: "#intro" }, (_d, r) => expect(textOf(r)).toBe("Omni test site."));
    await ok("chrome_get_html", { element: "#intro" }, (_d, r) =>
      expect(textOf(r)).toContain("Omni test site."),
    );
    await ok("chrome_hover", { element: "#hover-me" });
    expect(await evaluate("document.getElementById('hovered').textContent")).toBe("yes");
    await ok("chrome_click", { element: "#go-second" });
    await ok("chrome_wait_for", { text: "Second page", timeoutMs: 5000 });

    await ok("chrome_navigate", { url: `${site.url}/form` });
    await ok("chrome_upload_file", {
      element: "#file",
      files: [{ name: "notes.txt", content: Buffer.from("hi").toString("base64"), encoding: "base64" }],
    });
    expect(await evaluate("document.getElementById('file').files[0].name")).toBe("notes.txt");
    await ok("chrome_fill_form", {
      fields: [
        { element: "#email", value: "ada@example.com" },
        { element: "#agree", value: true },
      ],
    });
    expect(await evaluate("document.getElementById('email').value")).toBe("ada@example.com");
    await ok("chrome_type", { element: "#name", text: "Ada", clear: true });
    expect(await evaluate("document.getElementById('name').value")).toBe("Ada");
    await ok("chrome_press_key", { element: "#name", key: "End" });
    await ok("chrome_select_option", { element: "#color", values: "b" }, (_d, r) =>
      expect(textOf(r)).toContain("b"),
    );
    expect(await evaluate("document.getElementById('color').value")).toBe("b");

    await ok("chrome_navigate", { url: `${site.url}/long` });
    await ok("chrome_scroll", { to: "bottom" });
    expect(Number(await evaluate("window.scrollY"))).toBeGreaterThan(0);

    await ok("chrome_navigate", { url: `${site.url}/dialogs` });
    await ok("chrome_click", { element: "#alert" });
    await ok("chrome_handle_dialog", { accept: true }, (d) => expect(d.message).toBe("Hello alert"));

    await ok("chrome_navigate", { url: `${site.url}/drag` });
    await ok("chrome_drag", { from: "#src", to: "#dst" });
    await ok("chrome_get_text", { element: "#result" }, (_d, r) =>
      expect(textOf(r)).toBe("dropped:payload-1"),
    );
  },
  T,
);

test(
  "output, console and network",
  async () => {
    await ok("chrome_set_viewport", { width: 800, height: 600 });
    await ok("chrome_navigate", { url: `${site.url}/long` });
    await ok("chrome_screenshot", {}, (_d, r) => expect(r.content[0]?.type).toBe("image"));
    await ok("chrome_start_screencast", { maxWidth: 400, maxHeight: 300 });
    await ok("chrome_evaluate", { expression: "document.body.style.background = 'red'; 1" });
    await ok("chrome_wait_for", { timeoutMs: 200 });
    await ok("chrome_stop_screencast", { output: "frames" }, (d) =>
      expect(d.frames as number).toBeGreaterThan(0),
    );
    await ok("chrome_print_pdf", {}, (_d, r) => expect(JSON.stringify(r.content)).toContain("pdf"));
    await ok("chrome_set_viewport", { reset: true });

    await ok("chrome_navigate", { url: `${site.url}/console` });
    await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
    await ok("chrome_console_messages", {}, (d) =>
      expect((d.messages as unknown[]).length).toBeGreaterThan(0),
    );
    await ok("chrome_page_errors", {}, (d) => expect((d.errors as unknown[]).length).toBeGreaterThan(0));
    const requests = (await ok("chrome_list_requests")).data.requests as { id: string; url: string }[];
    const doc = requests.find((r) => r.url === `${site.url}/console`);
    expect(doc).toBeDefined();
    await ok("chrome_get_request", { id: doc?.id ?? "" }, (_d, r) => expect(textOf(r)).toContain("/console"));

    await ok("chrome_set_extra_headers", { headers: { "x-omni-test": "yes" } });
    await ok("chrome_navigate", { url: `${site.url}/headers` });
    await ok("chrome_get_text", {}, (_d, r) => expect(JSON.parse(textOf(r))["x-omni-test"]).toBe("yes"));
    await ok("chrome_set_extra_headers", { headers: {} });

    await ok("chrome_block_urls", { patterns: ["*/secret.png"] });
    await ok("chrome_navigate", { url: `${site.url}/embeds-secret` });
    await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
    expect(site.hits).not.toContain("/secret.png");
    await ok("chrome_block_urls", { patterns: [] });

    await ok("chrome_throttle_network", { preset: "Slow 3G" });
    await ok("chrome_throttle_network", { preset: "No throttling" });
    await ok("chrome_set_offline", { offline: true });
    expect(await evaluate("navigator.onLine")).toBe(false);
    await ok("chrome_set_offline", { offline: false });
  },
  T,
);

test(
  "storage and emulation",
  async () => {
    await ok("chrome_navigate", { url: `${site.url}/` });
    await ok("chrome_set_cookie", { name: "flavour", value: "oat" });
    await ok("chrome_get_cookies", {}, (d) =>
      expect((d.cookies as { name: string }[]).map((c) => c.name)).toContain("flavour"),
    );
    await ok("chrome_clear_cookies", { name: "flavour" }, (d) => expect(d.removed).toBe(1));
    await ok("chrome_set_storage", { key: "k", value: "v1" });
    await ok("chrome_get_storage", {}, (d) => expect(d.entries).toEqual({ k: "v1" }));
    await ok("chrome_clear_storage", { key: "k" });
    expect(await evaluate("localStorage.getItem('k')")).toBeNull();

    await ok("chrome_emulate_device", { device: "iPhone 15" });
    expect(String(await evaluate("navigator.userAgent"))).toContain("iPhone");
    await ok("chrome_set_viewport", { reset: true });
    await ok("chrome_set_user_agent", { userAgent: "OmniBot/1.0" });
    expect(await evaluate("navigator.userAgent")).toBe("OmniBot/1.0");
    await ok("chrome_set_geolocation", { latitude: 48.8584, longitude: 2.2945 });
    await ok("chrome_set_geolocation", { clear: true });
    await ok("chrome_throttle_cpu", { rate: 4 }, (d) => expect(d.rate).toBe(4));
    await ok("chrome_throttle_cpu", { rate: 1 });
    await ok("chrome_set_color_scheme", { scheme: "dark" }, (d) => expect(d.prefersDark).toBe(true));
    await ok("chrome_set_color_scheme", { scheme: "light" });
  },
  T,
);

test(
  "performance, memory, styles and accessibility",
  async () => {
    await ok("chrome_navigate", { url: `${site.url}/perf` });
    await ok("chrome_performance_metrics", {}, (_d, r) => expect(textOf(r).length).toBeGreaterThan(0));
    await ok("chrome_start_trace");
    await ok("chrome_wait_for", { timeoutMs: 200 });
    await ok("chrome_stop_trace", {}, (_d, r) => expect(textOf(r).length).toBeGreaterThan(0));
    await ok("chrome_performance_insight", { insight: "LCPBreakdown" }, (d) =>
      expect(d.insight).toBe("LCPBreakdown"),
    );

    await ok("chrome_navigate", { url: `${site.url}/leak` });
    const before = await ok("chrome_take_heap_snapshot", { label: "before" }, (d) =>
      expect(d.nodeCount as number).toBeGreaterThan(1000),
    );
    await ok("chrome_click", { element: "#leak" });
    const after = await ok("chrome_take_heap_snapshot", { label: "after" });
    await ok(
      "chrome_compare_heap_snapshots",
      { before: String(before.data.id), after: String(after.data.id) },
      (d) =>
        expect(
          (d.grew as { name: string; countDelta: number }[]).find((g) => g.name === "LeakyThing")?.countDelta,
        ).toBe(5000),
    );
    await ok(
      "chrome_summarize_heap_snapshot",
      { id: String(after.data.id), constructorContains: "Leaky" },
      (d) => expect((d.bySelfSize as { name: string }[])[0]?.name).toBe("LeakyThing"),
    );

    await ok("chrome_navigate", { url: `${site.url}/long` });
    await ok("chrome_get_computed_style", { element: "#styled" }, (d) =>
      expect((d.style as Record<string, string>).color).toBe("rgb(255, 0, 0)"),
    );
    await ok("chrome_navigate", { url: `${site.url}/styled` });
    await ok("chrome_get_matched_styles", { element: "#card" }, (d) =>
      expect((d.cascade as Record<string, { value: string }>).color?.value).toBe("green"),
    );
    await ok("chrome_navigate", { url: `${site.url}/a11y` });
    await ok("chrome_audit_accessibility", {}, (_d, r) => expect(textOf(r).length).toBeGreaterThan(0));
    // A quick Lighthouse run (snapshot mode, one category): the full run is in the server's own suite.
    await ok("chrome_lighthouse_audit", { mode: "snapshot", categories: ["accessibility"] }, (d) =>
      expect((d.failing as { id: string }[]).map((f) => f.id)).toContain("image-alt"),
    );
  },
  T,
);

test(
  "stopping the browser",
  async () => {
    await ok("chrome_stop_browser", {}, (d) => expect(d.closed).toBe(true));
  },
  T,
);

test("every devtools tool passed end to end through the gateway", () => {
  const missing = listed.filter((name) => !passed.has(name));
  console.log(
    `devtools through the gateway: ${listed.length - missing.length}/${listed.length} tools pass` +
      (missing.length
        ? `\n  not passing: ${missing.map((m) => `${m} (${failures.get(m) ?? "not called"})`).join("\n    ")}`
        : ""),
  );
  expect(listed.length).toBeGreaterThan(40);
  expect(missing).toEqual([]);
});
