import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CdpClient, webSocketTransport } from "../src/cdp.ts";
import { startHarness } from "./fixtures/harness.ts";
import { type Site, startSite } from "./fixtures/site.ts";

// CHROME_URL attach mode: the test owns the browser (one Chromium for this file), the server only attaches.
const chromePath = process.env.CHROME_PATH || "/usr/bin/chromium";
let chrome: Subprocess<"ignore", "ignore", "pipe">;
let profile: string;
let wsUrl: string;
let httpUrl: string;
let site: Site;

async function readEndpoint(proc: Subprocess<"ignore", "ignore", "pipe">): Promise<string> {
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let output = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Chromium did not start: ${output}`);
    output += decoder.decode(value, { stream: true });
    const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
    if (match?.[1]) {
      // Keep draining stderr so Chromium never blocks on a full pipe.
      void (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done) {
          // discard
        }
      })();
      return match[1];
    }
  }
}

/** The external browser's browser contexts (other than its default one), asked over a separate connection. */
async function externalContexts(): Promise<string[]> {
  const client = new CdpClient(await webSocketTransport(wsUrl));
  try {
    return (await client.send("Target.getBrowserContexts")).browserContextIds;
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  site = startSite();
  profile = mkdtempSync(join(tmpdir(), "omni-attach-test-"));
  chrome = Bun.spawn(
    [
      chromePath,
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--no-first-run",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    // Its temporary files (org.chromium.*) go to the profile directory removed after the file's tests.
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, TMPDIR: profile } },
  );
  wsUrl = await readEndpoint(chrome);
  httpUrl = `http://${new URL(wsUrl).host}`;
}, 30_000);

afterAll(async () => {
  chrome.kill("SIGKILL");
  await chrome.exited;
  rmSync(profile, { recursive: true, force: true });
  await site.stop();
}, 20_000);

test("attached by http://host:port: tools run in a private context, close leaves the browser running", async () => {
  const h = startHarness({ CHROME_URL: httpUrl, DEVTOOLS_IDLE_MS: "600000" });
  try {
    const nav = await h.ok("chrome_navigate", { url: `${site.url}/` });
    expect(nav.text).toContain('"Home"');
    expect((await h.ok("chrome_get_text", { element: "#intro" })).text).toContain("Omni test site.");
    await h.ok("chrome_set_cookie", { name: "attached", value: "yes" });

    const status = await h.ok("chrome_browser_status");
    expect(status.data.browser).toMatchObject({
      state: "running",
      version: expect.stringContaining("Chrome"),
    });
    // Attached, not launched: the server owns no Chromium process.
    expect(h.def.sessions.host.pid).toBeNull();

    // The session's context lives in the external browser, and its cookie is not in the default context.
    const contexts = await externalContexts();
    expect(contexts.length).toBe(1);
    const probe = new CdpClient(await webSocketTransport(wsUrl));
    try {
      const { cookies } = await probe.send("Storage.getCookies", {});
      expect(cookies.map((c) => c.name)).not.toContain("attached");
      const mine = await probe.send("Storage.getCookies", { browserContextId: contexts[0] });
      expect(mine.cookies.map((c) => c.name)).toEqual(["attached"]);
    } finally {
      await probe.close();
    }
  } finally {
    await h.close();
  }

  // The external browser is still alive, its own tab untouched, the session's context disposed.
  expect(chrome.exitCode).toBeNull();
  const version = (await (await fetch(`${httpUrl}/json/version`)).json()) as { Browser: string };
  expect(version.Browser).toContain("Chrome");
  const pages = (await (await fetch(`${httpUrl}/json/list`)).json()) as { type: string; url: string }[];
  expect(pages.filter((p) => p.type === "page").map((p) => p.url)).toEqual(["about:blank"]);
  expect(await externalContexts()).toEqual([]);
}, 60_000);

test("attached by ws:// URL: a second server works after the first one closed", async () => {
  const h = startHarness({ CHROME_URL: wsUrl, DEVTOOLS_IDLE_MS: "600000" });
  try {
    await h.ok("chrome_navigate", { url: `${site.url}/second` });
    const text = await h.ok("chrome_wait_for", { text: "Loaded late" });
    expect(text.result.isError).toBeFalsy();
    // The first server's cookie went away with its context.
    expect((await h.ok("chrome_get_cookies")).data.cookies).toEqual([]);
    // chrome_stop_browser disposes the context, never the attached browser.
    await h.ok("chrome_stop_browser");
    expect(await externalContexts()).toEqual([]);
    expect((await h.ok("chrome_get_text", {})).result.isError).toBeFalsy();
  } finally {
    await h.close();
  }
  expect(chrome.exitCode).toBeNull();
  expect(await externalContexts()).toEqual([]);
}, 60_000);

test("an unreachable CHROME_URL is a clear tool error, not a crash", async () => {
  // A port nothing listens on: take a free one from a listener and close it.
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("no") });
  const port = probe.port;
  await probe.stop(true);
  const h = startHarness({ CHROME_URL: `http://127.0.0.1:${port}` });
  try {
    const message = await h.fails("chrome_navigate", { url: `${site.url}/` });
    expect(message).toContain("The browser is unavailable");
    expect(message).toContain(`CHROME_URL http://127.0.0.1:${port}`);
  } finally {
    await h.close();
  }
  expect(chrome.exitCode).toBeNull();
}, 30_000);
