import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { pngSize, startHarnessWithSite } from "./fixtures/harness.ts";

// One Chromium for the whole file (the harness starts it on the first call).
const { h, site } = startHarnessWithSite({ DEVTOOLS_IDLE_MS: "600000" });
/** Tools that returned a successful result at least once (the end-of-file check). */
const passed = new Set<string>();

async function ok(name: string, args: Record<string, unknown> = {}, opts: Parameters<typeof h.ok>[2] = {}) {
  const r = await h.ok(name, args, opts);
  passed.add(name);
  return r;
}
async function evaluate(expression: string) {
  return (await ok("chrome_evaluate", { expression })).data.value;
}

const T = 60_000;

describe("browser and tabs", () => {
  test(
    "start, status, new/select/close tab",
    async () => {
      const started = await ok("chrome_start_browser");
      expect(String(started.data.version)).toContain("Chrome/");
      expect(String(started.data.browser)).toMatch(/^br_[A-Za-z0-9_-]{24}$/);
      // In a session, starting again is the same browser.
      expect((await ok("chrome_start_browser")).data.browser).toBe(started.data.browser);
      expect((started.data.tabs as unknown[]).length).toBe(1);
      const status = await ok("chrome_browser_status");
      expect((status.data.browser as { state: string }).state).toBe("running");
      expect((status.data.session as { open: boolean }).open).toBe(true);

      const first = ((await ok("chrome_list_tabs")).data.tabs as { tabId: string }[])[0]!.tabId;
      const opened = await ok("chrome_new_tab", { url: `${site.url}/second` });
      expect(opened.data.title).toBe("Second");
      let tabs = (await ok("chrome_list_tabs")).data.tabs as {
        tabId: string;
        current: boolean;
        url: string;
      }[];
      expect(tabs).toHaveLength(2);
      expect(tabs.find((t) => t.current)?.tabId).toBe(String(opened.data.tabId));

      await ok("chrome_select_tab", { tabId: first.slice(0, 12) });
      tabs = (await ok("chrome_list_tabs")).data.tabs as { tabId: string; current: boolean; url: string }[];
      expect(tabs.find((t) => t.current)?.tabId).toBe(first);

      const closed = await ok("chrome_close_tab", { tabId: String(opened.data.tabId) });
      expect(closed.data.remaining).toBe(1);
      expect(await h.fails("chrome_select_tab", { tabId: "nope" })).toContain("No tab nope");
    },
    T,
  );
});

describe("navigation", () => {
  test(
    "navigate, wait for, back, forward, reload",
    async () => {
      const nav = await ok("chrome_navigate", { url: `${site.url}/second` });
      expect(nav.data).toMatchObject({ title: "Second", status: 200 });
      const waited = await ok("chrome_wait_for", { text: "Loaded late", timeoutMs: 5000 });
      expect(waited.text).toContain("Condition met");
      await ok("chrome_wait_for", { selector: "h1" });
      await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
      expect((await ok("chrome_wait_for", { timeoutMs: 20 })).data.waitedMs).toBe(20);
      expect(await h.fails("chrome_wait_for", { text: "never there", timeoutMs: 300 })).toContain(
        "Timed out",
      );

      await ok("chrome_navigate", { url: `${site.url}/` });
      expect((await ok("chrome_go_back")).data.url).toBe(`${site.url}/second`);
      expect((await ok("chrome_go_forward")).data.url).toBe(`${site.url}/`);
      await evaluate("window.marker = 1");
      expect((await ok("chrome_reload")).data.url).toBe(`${site.url}/`);
      expect(await evaluate("typeof window.marker")).toBe("undefined");
    },
    T,
  );

  test(
    "blocked schemes never load",
    async () => {
      await ok("chrome_start_browser");
      for (const url of [
        "file:///etc/passwd",
        "chrome://settings",
        "devtools://devtools/bundled/inspector.html",
      ]) {
        expect(await h.fails("chrome_navigate", { url })).toContain("is blocked");
      }
    },
    T,
  );
});

describe("page content and input", () => {
  test(
    "snapshot refs, query selector, text, HTML, click by ref",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      const snap = await ok("chrome_snapshot");
      const tree = String(snap.data.snapshot);
      expect(tree).toContain('heading "Welcome home"');
      const linkRef = /link "Second" url="[^"]*" \[ref=(e\d+)\]/.exec(tree)?.[1];
      expect(linkRef).toBeDefined();
      // Refs are stable across snapshots of the same document.
      expect(String((await ok("chrome_snapshot")).data.snapshot)).toContain(
        `link "Second" url="${site.url}/second" [ref=${linkRef}]`,
      );

      const found = await ok("chrome_query_selector", { selector: "a" });
      const elements = found.data.elements as { ref: string; text: string; visible: boolean }[];
      expect(elements.map((e) => e.text)).toEqual(["Form", "Second"]);
      expect(elements[1]!.ref).toBe(linkRef!);

      expect((await ok("chrome_get_text", { element: "#intro" })).text).toBe("Omni test site.");
      expect((await ok("chrome_get_html", { element: "#intro" })).text).toBe(
        '<p id="intro">Omni test site.</p>',
      );
      expect((await ok("chrome_get_text")).text).toContain("Welcome home");
      expect((await ok("chrome_get_html")).text).toContain("<h1>Welcome home</h1>");

      const clicked = await ok("chrome_click", { element: linkRef });
      expect(clicked.data.navigatedTo).toBe(`${site.url}/second`);
      expect(await h.fails("chrome_click", { element: linkRef })).toContain("take a fresh chrome_snapshot");
      expect(await h.fails("chrome_click", { element: "#nothing-here" })).toContain("No element matches");
    },
    T,
  );

  test(
    "hover, fill form with upload, submit values arrive",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      await ok("chrome_hover", { element: "#hover-me" });
      expect(await evaluate("document.getElementById('hovered').textContent")).toBe("yes");

      await ok("chrome_navigate", { url: `${site.url}/form` });
      await ok("chrome_upload_file", {
        element: "#file",
        files: [
          { name: "notes.txt", content: Buffer.from("hello file").toString("base64"), encoding: "base64" },
        ],
      });
      expect(await evaluate("document.getElementById('file').files[0].name")).toBe("notes.txt");
      const filled = await ok("chrome_fill_form", {
        fields: [
          { element: "#name", value: "Ada Lovelace" },
          { element: "#email", value: "ada@example.com" },
          { element: "#bio", value: "Line one\nLine two" },
          { element: "#color", value: "Green" },
          { element: "#agree", value: true },
        ],
        submit: "#send",
      });
      expect(filled.data.navigatedTo).toBe(`${site.url}/submit`);
      expect(site.submissions.at(-1)).toEqual({
        name: "Ada Lovelace",
        email: "ada@example.com",
        bio: "Line one\r\nLine two",
        color: "g",
        agree: "yes",
        file: "notes.txt:hello file",
      });
      expect(await h.fails("chrome_fill_form", { fields: [{ element: "h1", value: "x" }] })).toContain(
        "is not a form field",
      );
    },
    T,
  );

  test(
    "type, press keys, select option, scroll",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/form` });
      await ok("chrome_type", { element: "#name", text: "Grace" });
      await ok("chrome_type", { element: "#name", text: "Ada", clear: true });
      expect(await evaluate("document.getElementById('name').value")).toBe("Ada");

      await ok("chrome_press_key", { element: "#keys", key: "a" });
      await ok("chrome_press_key", { key: "Control+a" });
      await ok("chrome_press_key", { key: "Enter" });
      expect(await evaluate("document.getElementById('keylog').textContent")).toBe(
        "a;Control(ctrl);a(ctrl);Enter;",
      );
      expect(await h.fails("chrome_press_key", { key: "Hyper+x" })).toContain("Unknown modifier");

      const selected = await ok("chrome_select_option", { element: "#color", values: "b" });
      expect(selected.data.selected).toEqual(["b"]);
      expect(await h.fails("chrome_select_option", { element: "#color", values: "purple" })).toContain(
        "no option",
      );

      await ok("chrome_type", { element: "#name", text: "Typed", clear: true, submit: true });
      expect(site.submissions.at(-1)?.name).toBe("Typed");

      await ok("chrome_navigate", { url: `${site.url}/long` });
      const bottom = await ok("chrome_scroll", { to: "bottom" });
      expect(bottom.data.scrollY as number).toBeGreaterThan(1500);
      const up = await ok("chrome_scroll", { deltaY: -500 });
      expect(up.data.scrollY).toBe((bottom.data.scrollY as number) - 500);
      await ok("chrome_scroll", { element: "#b1" });
      expect(
        await evaluate("Math.round(document.getElementById('b1').getBoundingClientRect().top) <= 0"),
      ).toBe(true);
    },
    T,
  );

  test(
    "dialogs: alert, confirm, prompt",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/dialogs` });
      expect(await h.fails("chrome_handle_dialog", { accept: true })).toContain("No dialog is open");
      const alerted = await ok("chrome_click", { element: "#alert" });
      expect(alerted.text).toContain('alert dialog opened ("Hello alert")');
      expect(await h.fails("chrome_evaluate", { expression: "1" })).toContain("chrome_handle_dialog");
      expect((await ok("chrome_handle_dialog", { accept: true })).data.message).toBe("Hello alert");

      await ok("chrome_click", { element: "#confirm" });
      await ok("chrome_handle_dialog", { accept: false });
      expect((await ok("chrome_get_text", { element: "#out" })).text).toBe("cancelled");

      await ok("chrome_click", { element: "#prompt" });
      await ok("chrome_handle_dialog", { accept: true, promptText: "Bob" });
      expect((await ok("chrome_get_text", { element: "#out" })).text).toBe("name=Bob");
    },
    T,
  );

  test(
    "drag and drop",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/drag` });
      const dragged = await ok("chrome_drag", { from: "#src", to: "#dst" });
      expect(dragged.data.html5).toBe(true);
      expect((await ok("chrome_get_text", { element: "#result" })).text).toBe("dropped:payload-1");
    },
    T,
  );
});

describe("output", () => {
  test(
    "screenshots of viewport, full page and element; PDF",
    async () => {
      await ok("chrome_set_viewport", { width: 800, height: 600 });
      await ok("chrome_navigate", { url: `${site.url}/long` });
      const viewport = await ok("chrome_screenshot");
      const image = viewport.result.content[0];
      expect(image?.type).toBe("image");
      if (image?.type !== "image") throw new Error("no image");
      expect(image.mimeType).toBe("image/png");
      expect(pngSize(image.data)).toEqual({ width: 800, height: 600 });

      const full = (await ok("chrome_screenshot", { fullPage: true })).result.content[0];
      if (full?.type !== "image") throw new Error("no image");
      const fullSize = pngSize(full.data);
      const pageHeight = (await evaluate("document.documentElement.scrollHeight")) as number;
      expect(fullSize).toEqual({ width: 800, height: pageHeight });
      expect(pageHeight).toBeGreaterThan(2900);

      const el = (await ok("chrome_screenshot", { element: "#styled" })).result.content[0];
      if (el?.type !== "image") throw new Error("no image");
      expect(pngSize(el.data)).toEqual({ width: 123, height: 45 });

      const jpeg = (await ok("chrome_screenshot", { format: "jpeg", quality: 50 })).result.content[0];
      if (jpeg?.type !== "image") throw new Error("no image");
      expect(jpeg.mimeType).toBe("image/jpeg");
      expect(Buffer.from(jpeg.data, "base64").subarray(0, 2).toString("hex")).toBe("ffd8");

      const pdf = await ok("chrome_print_pdf");
      const block = pdf.result.content.find((c) => c.type === "resource");
      if (block?.type !== "resource" || !("blob" in block.resource)) throw new Error("no PDF resource");
      expect(block.resource.mimeType).toBe("application/pdf");
      expect(Buffer.from(block.resource.blob, "base64").subarray(0, 5).toString("ascii")).toBe("%PDF-");
      await ok("chrome_set_viewport", { reset: true });
    },
    T,
  );
});

describe("script and debugging", () => {
  test(
    "evaluate, console messages, page errors",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/console` });
      expect(await evaluate("1 + 2")).toBe(3);
      expect(await evaluate("Promise.resolve({ a: [1, 'x'] })")).toEqual({ a: [1, "x"] });
      expect(await h.fails("chrome_evaluate", { expression: "throw new TypeError('nope')" })).toContain(
        "TypeError: nope",
      );
      await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
      const messages = (await ok("chrome_console_messages")).data.messages as {
        level: string;
        text: string;
        source: string;
      }[];
      expect(messages).toContainEqual(
        expect.objectContaining({ level: "log", text: "hello from the page 42" }),
      );
      expect(messages).toContainEqual(expect.objectContaining({ level: "warn", text: "careful" }));
      expect(messages).toContainEqual(expect.objectContaining({ level: "error", text: "something bad" }));
      expect(messages.some((m) => m.source === "browser" && m.text.includes("404"))).toBe(true);
      const errorsOnly = (await ok("chrome_console_messages", { level: "error" })).data.messages as {
        level: string;
      }[];
      expect(errorsOnly.every((m) => m.level === "error")).toBe(true);

      const errors = (await ok("chrome_page_errors")).data.errors as { message: string }[];
      expect(errors.some((e) => e.message.includes("boom uncaught"))).toBe(true);
      await ok("chrome_page_errors", { clear: true });
      expect(((await ok("chrome_page_errors")).data.errors as unknown[]).length).toBe(0);
    },
    T,
  );
});

describe("network", () => {
  test(
    "requests: list, details with body, failures",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/console` });
      await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
      const listed = (await ok("chrome_list_requests")).data.requests as {
        id: string;
        url: string;
        status: number | null;
        type: string;
        failed?: string;
      }[];
      const doc = listed.findLast((r) => r.url === `${site.url}/console`);
      expect(doc?.status).toBe(200);
      expect(listed.find((r) => r.url.endsWith("/missing.json"))?.status).toBe(404);
      expect(listed.find((r) => r.url.includes("127.0.0.1:1/"))?.failed).toContain("ERR_");
      const failed = (await ok("chrome_list_requests", { failedOnly: true })).data.requests as {
        url: string;
      }[];
      expect(failed.every((r) => !r.url.endsWith("/console"))).toBe(true);
      expect(failed.length).toBeGreaterThanOrEqual(2);

      const details = await ok("chrome_get_request", { id: doc!.id });
      expect(details.data.status).toBe(200);
      const headers = Object.entries(details.data.responseHeaders as Record<string, string>);
      expect(headers.find(([k]) => k.toLowerCase() === "content-type")?.[1]).toContain("text/html");
      expect((details.data.body as { text: string }).text).toContain("console page");
    },
    T,
  );

  test(
    "extra headers, URL blocking, throttling, offline",
    async () => {
      await ok("chrome_set_extra_headers", { headers: { "x-omni-test": "yes" } });
      await ok("chrome_navigate", { url: `${site.url}/headers` });
      expect(JSON.parse((await ok("chrome_get_text")).text)["x-omni-test"]).toBe("yes");
      await ok("chrome_set_extra_headers", { headers: {} });

      await ok("chrome_block_urls", { patterns: ["*/secret.png"] });
      const before = site.hits.length;
      await ok("chrome_navigate", { url: `${site.url}/embeds-secret` });
      await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
      expect(site.hits.slice(before)).toContain("/embeds-secret");
      expect(site.hits.slice(before)).not.toContain("/secret.png");
      const reqs = (await ok("chrome_list_requests", { urlContains: "secret.png" })).data.requests as {
        blockedBy?: string;
      }[];
      expect(reqs.at(-1)?.blockedBy).toContain("blocked pattern");
      expect(await evaluate("document.getElementById('pic').naturalWidth")).toBe(0);
      await ok("chrome_block_urls", { patterns: [] });
      await ok("chrome_reload");
      expect(
        await evaluate(
          "document.getElementById('pic').complete && document.getElementById('pic').naturalWidth",
        ),
      ).toBe(1);

      const slow = await ok("chrome_throttle_network", { preset: "Slow 3G" });
      expect(slow.data.latency).toBe(2000);
      // Chromium reports rtt rounded to a coarse bucket; 2 s of latency shows as well over 1 s.
      expect(await evaluate("navigator.connection.rtt")).toBeGreaterThanOrEqual(1500);
      await ok("chrome_throttle_network", { preset: "No throttling" });
      expect(await h.fails("chrome_throttle_network", {})).toContain("Give a preset");

      await ok("chrome_set_offline", { offline: true });
      expect(await evaluate("navigator.onLine")).toBe(false);
      expect(await evaluate("fetch('/headers').then(() => 'loaded', () => 'failed')")).toBe("failed");
      await ok("chrome_set_offline", { offline: false });
      expect(await evaluate("fetch('/headers').then(() => 'loaded', () => 'failed')")).toBe("loaded");
    },
    T,
  );
});

describe("storage", () => {
  test(
    "cookies and web storage",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      await ok("chrome_set_cookie", { name: "flavour", value: "oat" });
      await ok("chrome_set_cookie", { name: "other", value: "1", url: site.url });
      expect(await evaluate("document.cookie")).toContain("flavour=oat");
      const cookies = (await ok("chrome_get_cookies")).data.cookies as { name: string; value: string }[];
      expect(cookies).toContainEqual(expect.objectContaining({ name: "flavour", value: "oat" }));
      const forUrl = (await ok("chrome_get_cookies", { url: `${site.url}/x` })).data.cookies as {
        name: string;
      }[];
      expect(forUrl.map((c) => c.name).sort()).toEqual(["flavour", "other"]);
      expect((await ok("chrome_clear_cookies", { name: "flavour" })).data.removed).toBe(1);
      expect(await evaluate("document.cookie")).toBe("other=1");
      await ok("chrome_clear_cookies");
      expect(((await ok("chrome_get_cookies")).data.cookies as unknown[]).length).toBe(0);

      await ok("chrome_set_storage", { key: "k", value: "v1" });
      await ok("chrome_set_storage", { kind: "session", key: "s", value: "v2" });
      expect((await ok("chrome_get_storage")).data.entries).toEqual({ k: "v1" });
      expect((await ok("chrome_get_storage", { kind: "session", key: "s" })).data.entries).toEqual({
        s: "v2",
      });
      await ok("chrome_clear_storage", { key: "k" });
      expect(await evaluate("localStorage.getItem('k')")).toBe(null);
      await ok("chrome_clear_storage", { kind: "session" });
      expect(await evaluate("sessionStorage.length")).toBe(0);
    },
    T,
  );
});

describe("emulation", () => {
  test(
    "device, user agent, geolocation, CPU, colour scheme",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      await ok("chrome_emulate_device", { device: "iPhone 15" });
      expect(
        await evaluate(
          "[screen.width, devicePixelRatio, navigator.maxTouchPoints > 0, /iPhone/.test(navigator.userAgent)]",
        ),
      ).toEqual([393, 3, true, true]);
      await ok("chrome_set_viewport", { reset: true });

      await ok("chrome_set_user_agent", { userAgent: "OmniBot/1.0", acceptLanguage: "de-DE" });
      await ok("chrome_navigate", { url: `${site.url}/headers` });
      const headers = JSON.parse((await ok("chrome_get_text")).text) as Record<string, string>;
      expect(headers["user-agent"]).toBe("OmniBot/1.0");
      expect(headers["accept-language"]).toContain("de-DE");

      await ok("chrome_set_geolocation", { latitude: 48.8584, longitude: 2.2945 });
      expect(
        await evaluate(
          "new Promise((ok, ko) => navigator.geolocation.getCurrentPosition((p) => ok([p.coords.latitude, p.coords.longitude]), (e) => ko(e.message)))",
        ),
      ).toEqual([48.8584, 2.2945]);
      await ok("chrome_set_geolocation", { clear: true });

      expect((await ok("chrome_throttle_cpu", { rate: 4 })).data.rate).toBe(4);
      await ok("chrome_throttle_cpu", { rate: 1 });

      expect((await ok("chrome_set_color_scheme", { scheme: "dark" })).data.prefersDark).toBe(true);
      expect(await evaluate("matchMedia('(prefers-color-scheme: light)').matches")).toBe(false);
      expect((await ok("chrome_set_color_scheme", { scheme: "light" })).data.prefersDark).toBe(false);
    },
    T,
  );
});

describe("performance", () => {
  test(
    "metrics and a trace with Core Web Vitals and findings",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/perf` });
      const metrics = await ok("chrome_performance_metrics");
      expect((metrics.data.metrics as Record<string, number>).Nodes).toBeGreaterThan(5);
      expect((metrics.data.metrics as Record<string, number>).JSHeapUsedSize).toBeGreaterThan(0);

      await ok("chrome_start_trace");
      expect(await h.fails("chrome_start_trace")).toContain("already recording");
      await ok("chrome_wait_for", { text: "Late banner", timeoutMs: 5000 });
      await ok("chrome_click", { element: "#slow-click" });
      await ok("chrome_wait_for", { text: "done", timeoutMs: 5000 });
      const trace = await ok("chrome_stop_trace");
      const d = trace.data as {
        traceEvents: number;
        webVitals: {
          lcp: { ms: number | null };
          cls: { value: number };
          inp: { ms: number | null; interactions: number };
        };
        longTasks: { count: number; longestMs: number };
        renderBlocking: { url: string }[];
        largestResources: { url: string; bytes: number }[];
        findings: string[];
      };
      expect(d.traceEvents).toBeGreaterThan(100);
      expect(d.webVitals.lcp.ms).toBeGreaterThan(0);
      expect(d.webVitals.cls.value).toBeGreaterThan(0);
      expect(d.webVitals.inp.interactions).toBeGreaterThan(0);
      expect(d.webVitals.inp.ms).toBeGreaterThanOrEqual(250);
      expect(d.longTasks.count).toBeGreaterThanOrEqual(1);
      expect(d.longTasks.longestMs).toBeGreaterThanOrEqual(150);
      expect(d.renderBlocking.map((r) => r.url)).toContain(`${site.url}/slow.css`);
      expect(d.largestResources[0]?.url).toBe(`${site.url}/big.js`);
      expect(d.findings.join(" ")).toContain("long task");
      expect(await h.fails("chrome_stop_trace")).toContain("No trace is recording");
    },
    T,
  );
});

describe("memory", () => {
  test(
    "heap snapshots: summary and a leak found by comparison",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/leak` });
      const first = await ok("chrome_take_heap_snapshot", { label: "before" });
      expect(first.data.id).toBe("heap-1");
      expect(first.data.nodeCount as number).toBeGreaterThan(1000);
      expect((first.data.bySelfSize as unknown[]).length).toBeGreaterThan(5);
      await ok("chrome_click", { element: "#leak" });
      const second = await ok("chrome_take_heap_snapshot", { label: "after" });
      const cmp = await ok("chrome_compare_heap_snapshots", {
        before: "heap-1",
        after: String(second.data.id),
      });
      const grew = cmp.data.grew as {
        name: string;
        countDelta: number;
        newObjects: number;
        sizeDelta: number;
      }[];
      const leaky = grew.find((g) => g.name === "LeakyThing");
      expect(leaky?.countDelta).toBe(5000);
      expect(leaky?.sizeDelta as number).toBeGreaterThan(0);
      expect(grew.findIndex((g) => g.name === "LeakyThing")).toBeLessThan(5);

      const summary = await ok("chrome_summarize_heap_snapshot", {
        id: "heap-2",
        constructorContains: "Leaky",
      });
      const cls = (
        summary.data.bySelfSize as { name: string; count: number; retainedSize: number; selfSize: number }[]
      )[0];
      expect(cls).toMatchObject({ name: "LeakyThing", count: 5000 });
      // Each LeakyThing retains its payload array, so retained exceeds self size.
      expect(cls!.retainedSize).toBeGreaterThan(cls!.selfSize);
      expect(await h.fails("chrome_summarize_heap_snapshot", { id: "heap-9" })).toContain(
        'No heap snapshot with id or label "heap-9"',
      );
      // Labels are usable ids (issue 18): the snapshots were taken as "before" and "after".
      const byLabel = await ok("chrome_compare_heap_snapshots", { before: "before", after: "after" });
      expect(
        (byLabel.data.grew as { name: string; countDelta: number }[]).find((g) => g.name === "LeakyThing")
          ?.countDelta,
      ).toBe(5000);
      expect((await ok("chrome_summarize_heap_snapshot", { id: "after" })).data.label).toBe("after");
    },
    T,
  );
});

describe("styles and audits", () => {
  test(
    "computed style and axe-core audit",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/long` });
      const style = (await ok("chrome_get_computed_style", { element: "#styled" })).data.style as Record<
        string,
        string
      >;
      expect(style).toMatchObject({
        color: "rgb(255, 0, 0)",
        display: "flex",
        width: "123px",
        "background-color": "rgb(0, 0, 255)",
      });
      const all = (await ok("chrome_get_computed_style", { element: "#styled", properties: ["*"] })).data
        .style as Record<string, string>;
      expect(Object.keys(all).length).toBeGreaterThan(200);

      await ok("chrome_navigate", { url: `${site.url}/a11y` });
      const audit = await ok("chrome_audit_accessibility");
      const byImpact = audit.data.byImpact as Record<string, { id: string }[]>;
      expect(byImpact.critical?.map((v) => v.id)).toEqual(
        expect.arrayContaining(["image-alt", "button-name"]),
      );
      expect(byImpact.serious?.map((v) => v.id)).toContain("color-contrast");
      // axe ran in an isolated world: the page's globals are untouched.
      expect(await evaluate("typeof window.axe")).toBe("undefined");
    },
    T,
  );
});

describe("issue 18 additions", () => {
  test(
    "evaluate: a function with element refs as arguments, readable Date/Map/Set/BigInt/typed arrays/nodes/cycles",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/styled` });
      expect(await evaluate("new Date(0)")).toEqual({ $type: "Date", iso: "1970-01-01T00:00:00.000Z" });
      expect(await evaluate("10n ** 20n")).toEqual({ $type: "BigInt", value: "100000000000000000000" });
      expect(
        await evaluate(
          "({ m: new Map([['a', 1]]), s: new Set([1, 2]), t: new Uint8Array([7, 8]), n: NaN, u: undefined })",
        ),
      ).toEqual({
        m: { $type: "Map", size: 1, entries: [["a", 1]] },
        s: { $type: "Set", size: 2, values: [1, 2] },
        t: { $type: "Uint8Array", length: 2, values: [7, 8] },
        n: { $type: "number", value: "NaN" },
        u: { $type: "undefined" },
      });
      expect(
        await evaluate("(() => { const a = { name: 'a' }; a.self = a; a.list = [a]; return a; })()"),
      ).toEqual({
        name: "a",
        self: { $ref: "$" },
        list: [{ $ref: "$" }],
      });
      expect(await evaluate("document.getElementById('card')")).toEqual({
        $type: "Element",
        node: "p#card.card",
        text: "styled card",
      });
      const found = (await ok("chrome_query_selector", { selector: "#card" })).data.elements as {
        ref: string;
      }[];
      const called = await ok("chrome_evaluate", {
        function: "(el, times) => el.textContent.toUpperCase().repeat(times)",
        args: [{ element: "#card" }, { value: 2 }],
      });
      expect(called.data.value).toBe("STYLED CARDSTYLED CARD");
      const byRef = await ok("chrome_evaluate", {
        function: "(el, suffix) => el.id + suffix",
        args: [{ element: found[0]?.ref }, { value: "!" }],
      });
      expect(byRef.data.value).toBe("card!");
      expect(await h.fails("chrome_evaluate", { expression: "1", function: "() => 2" })).toContain(
        "either expression or function",
      );
      expect(await h.fails("chrome_evaluate", { expression: "1", args: [{ value: 1 }] })).toContain(
        "args need a function",
      );
      expect(
        await h.fails("chrome_evaluate", {
          function: "(el) => el.nope.deeper",
          args: [{ element: "#card" }],
        }),
      ).toContain("TypeError");
    },
    T,
  );

  test(
    "snapshots: link URLs, folded wrappers, collapsed repetitive lists, includeSnapshot, refs reset on navigation",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/list` });
      const snap = (await ok("chrome_snapshot")).text;
      expect(snap).toContain(`link "Second page" url="${site.url}/second"`);
      expect(snap).toContain(`link "Docs" url="${site.url}/docs"`);
      expect(snap).toContain('text "Item 3"');
      expect(snap).not.toContain('"Item 4"');
      expect(snap).toContain('… 37 more listitem like these (the last: "Item 40")');
      // The button sits in four nameless wrappers: folded, it is a direct child of the page.
      expect(snap).toMatch(/^ {2}- button "Deep button"/m);
      const all = (await ok("chrome_snapshot", { collapse: false })).text;
      expect(all).toContain('text "Item 40"');

      await ok("chrome_navigate", { url: `${site.url}/form` });
      expect((await ok("chrome_snapshot")).text).not.toContain("LabelText");

      await ok("chrome_navigate", { url: `${site.url}/list` });
      const before = (await ok("chrome_snapshot")).text;
      const link = /link "Second page"[^\n]*\[ref=(e\d+)\]/.exec(before)?.[1] ?? "";
      const clicked = await ok("chrome_click", { element: link, includeSnapshot: true });
      expect(clicked.text).toContain(`Page after the action: ${site.url}/second`);
      expect(clicked.text).toContain('heading "Second page"');
      // The page navigated: the old ref is gone.
      expect(await h.fails("chrome_click", { element: link })).toContain("take a fresh chrome_snapshot");
    },
    T,
  );

  test(
    "matched CSS rules and the cascade of a styled element",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/styled` });
      const styles = await ok("chrome_get_matched_styles", { element: "#card" });
      const d = styles.data as {
        element: string;
        cascade: Record<string, { value: string; from: string }>;
        inline: { name: string; value: string }[];
        rules: {
          selector: string;
          source: string;
          declarations: { name: string; value: string; overridden?: boolean }[];
        }[];
        inherited: { from: string; rules: { selector: string; declarations: { name: string }[] }[] }[];
      };
      expect(d.element).toBe("p#card.card");
      expect(d.cascade.color).toEqual({ value: "green", from: "#main .card" });
      expect(d.cascade.margin?.from).toBe("inline style");
      expect(d.cascade["font-size"]).toEqual({ value: "14px", from: "p" });
      const card = d.rules.find((r) => r.selector === ".card");
      expect(card?.declarations.find((x) => x.name === "color")).toEqual({
        name: "color",
        value: "blue",
        overridden: true,
      });
      expect(card?.source).toContain("<style>");
      expect(d.rules[0]?.selector).toBe("#main .card");
      expect(d.inherited[0]?.from).toBe("div#main");
      expect(d.inherited[0]?.rules[0]?.declarations.map((x) => x.name)).toEqual(["font-family"]);
    },
    T,
  );

  test(
    "console messages keep their arguments and stacks, and survive navigations on request",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/second` });
      await evaluate(
        "console.log('x', { build: 42, tags: ['a'] }); function failing() { console.error('bad', new Error('kaput')); } failing(); 1",
      );
      const messages = (await ok("chrome_console_messages")).data.messages as {
        level: string;
        text: string;
        args?: string[];
        stack?: string[];
      }[];
      const log = messages.find((m) => m.text.startsWith("x "));
      expect(log?.args).toEqual(["x", "{build: 42, tags: Array(1)}"]);
      expect(log?.text).toBe("x {build: 42, tags: Array(1)}");
      const error = messages.find((m) => m.level === "error" && m.text.startsWith("bad"));
      expect(error?.text).toContain("Error: kaput");
      expect(error?.stack?.[0]).toContain("failing");

      await ok("chrome_navigate", { url: `${site.url}/` });
      const current = (await ok("chrome_console_messages")).data.messages as { text: string }[];
      expect(current.some((m) => m.text.startsWith("x "))).toBe(false);
      const preserved = (await ok("chrome_console_messages", { includePreserved: true })).data.messages as {
        text: string;
      }[];
      expect(preserved.some((m) => m.text.startsWith("x "))).toBe(true);
    },
    T,
  );

  test(
    "request details include the headers the network stack adds (Cookie, Host)",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/set-cookie` });
      await ok("chrome_wait_for", { networkIdle: true, timeoutMs: 10_000 });
      const requests = (await ok("chrome_list_requests", { urlContains: "/headers" })).data.requests as {
        id: string;
      }[];
      const details = await ok("chrome_get_request", { id: requests.at(-1)?.id ?? "" });
      const sent = details.data.sentHeaders as Record<string, string>;
      const lower = Object.fromEntries(Object.entries(sent).map(([k, v]) => [k.toLowerCase(), v]));
      expect(lower.cookie).toBe("sid=abc123");
      expect(lower.host).toBe(new URL(site.url).host);
      const page = (await ok("chrome_list_requests", { urlContains: "/set-cookie" })).data.requests as {
        id: string;
      }[];
      const raw = (await ok("chrome_get_request", { id: page.at(-1)?.id ?? "" })).data
        .rawResponseHeaders as Record<string, string>;
      expect(Object.entries(raw).find(([k]) => k.toLowerCase() === "set-cookie")?.[1]).toContain(
        "sid=abc123",
      );
    },
    T,
  );

  test(
    "a trace of a page with a forced reflow: the ForcedReflow insight names the function, drill-down and raw trace",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/reflow` });
      await ok("chrome_start_trace");
      await ok("chrome_click", { element: "#thrash" });
      const trace = await ok("chrome_stop_trace");
      const d = trace.data as {
        traceId: string;
        rawTrace: string;
        insights: {
          insightSetId: string;
          insights: { insight: string; state: string; reflowsBySource?: unknown }[];
        }[];
        longTasks: { tasks: { scripts: { url: string }[] }[] };
      };
      const set = d.insights.find((s) => s.insights.some((i) => i.insight === "ForcedReflow"));
      const reflow = set?.insights.find((i) => i.insight === "ForcedReflow");
      expect(reflow?.state).toBe("fail");
      expect(JSON.stringify(reflow?.reflowsBySource)).toContain("thrashLayout");
      expect(set?.insights.some((i) => i.insight === "LCPBreakdown")).toBe(true);

      const detail = await ok("chrome_performance_insight", {
        insight: "ForcedReflow",
        insightSetId: set?.insightSetId,
      });
      expect(detail.data.state).toBe("fail");
      expect(JSON.stringify(detail.data.detail)).toContain("thrashLayout");
      expect(await h.fails("chrome_performance_insight", { insight: "NoSuchInsight" })).toContain(
        "No insight NoSuchInsight",
      );

      // Another client's session cannot read this session's artifacts.
      await expect(h.readRaw(d.rawTrace, { session: "s2" })).rejects.toThrow("No artifact");
      const raw = await h.readRaw(d.rawTrace);
      const events = (JSON.parse(raw.text ?? "{}") as { traceEvents: { name?: string }[] }).traceEvents;
      expect(events.some((e) => e.name === "Layout")).toBe(true);
    },
    T,
  );

  test(
    "emulation of forced colours and contrast; webp screenshots",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      const media = await ok("chrome_set_color_scheme", {
        scheme: "dark",
        forcedColors: "active",
        contrast: "more",
      });
      expect(media.data).toMatchObject({ prefersDark: true, forcedColors: true, prefersContrast: "more" });
      expect(await evaluate("matchMedia('(forced-colors: active)').matches")).toBe(true);
      await ok("chrome_set_color_scheme", {
        scheme: "auto",
        forcedColors: "none",
        contrast: "no-preference",
      });
      expect(await evaluate("matchMedia('(forced-colors: active)').matches")).toBe(false);

      const shot = await ok("chrome_screenshot", { format: "webp", quality: 60 });
      const image = shot.result.content[0];
      expect(image?.type === "image" && image.mimeType).toBe("image/webp");
      const bytes = Buffer.from(image?.type === "image" ? image.data : "", "base64");
      expect(bytes.subarray(0, 4).toString("ascii")).toBe("RIFF");
      expect(bytes.subarray(8, 12).toString("ascii")).toBe("WEBP");
    },
    T,
  );

  test(
    "screencast: frames while the page changes, then an MP4 video (ffmpeg) and the frames as resources",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/` });
      await ok("chrome_start_screencast", { maxWidth: 640, maxHeight: 480 });
      expect(await h.fails("chrome_start_screencast")).toContain("already recording");
      for (let i = 0; i < 6; i++) {
        await evaluate(
          `document.body.style.background = "hsl(${i * 60}, 80%, 50%)"; document.querySelector("h1").textContent = "frame ${i}"; 1`,
        );
        await ok("chrome_wait_for", { timeoutMs: 120 });
      }
      const video = await ok("chrome_stop_screencast", { output: "video", previewFrames: 2 });
      const d = video.data as { frames: number; resource: string; mimeType: string; bytes: number };
      expect(d.frames).toBeGreaterThanOrEqual(3);
      expect(d.mimeType).toBe("video/mp4");
      expect(video.result.content.filter((c) => c.type === "image")).toHaveLength(2);
      const mp4 = await h.readRaw(d.resource);
      const bytes = Buffer.from(mp4.blob ?? "", "base64");
      expect(bytes.byteLength).toBe(d.bytes);
      expect(bytes.subarray(4, 8).toString("ascii")).toBe("ftyp");

      await ok("chrome_start_screencast", { format: "png", maxWidth: 320, maxHeight: 240 });
      for (let i = 0; i < 3; i++) {
        await evaluate(`document.querySelector("h1").textContent = "png ${i}"; 1`);
        await ok("chrome_wait_for", { timeoutMs: 120 });
      }
      const frames = await ok("chrome_stop_screencast", { output: "frames", previewFrames: 0 });
      const json = JSON.parse((await h.readRaw(String(frames.data.resource))).text ?? "{}") as {
        mimeType: string;
        frames: { at: number; data: string }[];
      };
      expect(json.mimeType).toBe("image/png");
      expect(json.frames.length).toBe(Number(frames.data.frames));
      expect(pngSize(json.frames[0]?.data ?? "").width).toBeLessThanOrEqual(320);
      expect(await h.fails("chrome_stop_screencast")).toContain("No screencast is recording");
      expect(readdirSync(tmpdir()).some((f) => f.startsWith("omni-screencast-"))).toBe(false);
    },
    T,
  );

  test("Lighthouse on a page with known accessibility failures (the suite's one Lighthouse run)", async () => {
    await ok("chrome_navigate", { url: `${site.url}/a11y` });
    await ok("chrome_set_cookie", { name: "kept", value: "1" });
    const lh = await ok("chrome_lighthouse_audit", {});
    const d = lh.data as {
      scores: Record<string, number | null>;
      failing: { id: string; items: string[] }[];
      reports: { json: string; html: string };
    };
    expect(Object.keys(d.scores).sort()).toEqual(["accessibility", "best-practices", "performance", "seo"]);
    expect(d.scores.accessibility).toBeLessThan(90);
    const ids = d.failing.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(["image-alt", "button-name", "color-contrast"]));
    expect(d.failing.find((f) => f.id === "image-alt")?.items[0]).toContain("img");
    const report = JSON.parse((await h.readRaw(d.reports.json)).text ?? "{}") as {
      audits: Record<string, { score: number }>;
    };
    expect(report.audits["image-alt"]?.score).toBe(0);
    expect((await h.readRaw(d.reports.html)).text).toContain("<html");
    // The session's cookies survived the audit (no storage reset).
    const cookies = (await ok("chrome_get_cookies")).data.cookies as { name: string }[];
    expect(cookies.some((c) => c.name === "kept")).toBe(true);
    // Invalid arguments are a tool error naming the field (a model can correct itself).
    expect(await h.fails("chrome_lighthouse_audit", { categories: [] })).toContain("categories");
  }, 120_000);
});

describe("resources and URL policy", () => {
  test(
    "devtools://tabs, devtools://console, devtools://results/latest",
    async () => {
      await ok("chrome_navigate", { url: `${site.url}/console` });
      await ok("chrome_wait_for", { text: "console page" });
      const tabs = await h.read("devtools://tabs");
      expect((tabs.tabs as { url: string }[])[0]?.url).toBe(`${site.url}/console`);
      const consoleRes = await h.read("devtools://console");
      expect((consoleRes.messages as { text: string }[]).some((m) => m.text === "something bad")).toBe(true);
      const results = await h.read("devtools://results/latest");
      expect((results.latest as { tool: string; ok: boolean }).tool).toBe("chrome_wait_for");
      expect((results.recent as unknown[]).length).toBeGreaterThan(1);
      // Another session sees nothing of this one.
      expect((await h.read("devtools://tabs", { session: "other" })).tabs).toEqual([]);
    },
    T,
  );

  test(
    "organization deny/allow patterns apply to navigations and subrequests",
    async () => {
      const settings = { denyUrls: ["*/secret*"] };
      expect(await h.fails("chrome_navigate", { url: `${site.url}/secret` }, { settings })).toContain(
        "URL policy denies it",
      );
      const before = site.hits.length;
      await ok("chrome_navigate", { url: `${site.url}/embeds-secret` }, { settings });
      await ok("chrome_wait_for", { networkIdle: true }, { settings });
      expect(site.hits.slice(before)).not.toContain("/secret.png");
      // Script-initiated navigation is stopped by the interception too.
      await ok("chrome_evaluate", { expression: "location.href = '/secret'; 1" }, { settings });
      await ok("chrome_wait_for", { timeoutMs: 300 }, { settings });
      expect(site.hits.slice(before)).not.toContain("/secret");

      const allowOnly = { allowUrls: ["*.example.com"] };
      expect(await h.fails("chrome_navigate", { url: `${site.url}/` }, { settings: allowOnly })).toContain(
        "allows only listed sites",
      );
      expect(
        await h.fails("chrome_navigate", { url: `${site.url}/` }, { settings: { allowUrls: "nope" } }),
      ).toContain("settings.allowUrls");
    },
    T,
  );
});

test(
  "stop browser discards the session's context",
  async () => {
    await ok("chrome_navigate", { url: `${site.url}/` });
    await ok("chrome_set_cookie", { name: "gone", value: "soon" });
    expect((await ok("chrome_stop_browser")).data.closed).toBe(true);
    expect(((await ok("chrome_browser_status")).data.session as { open: boolean }).open).toBe(false);
    expect(((await ok("chrome_get_cookies")).data.cookies as unknown[]).length).toBe(0);
  },
  T,
);

test("every tool passed end to end", async () => {
  const names = h.def.tools.map((t) => t.name);
  const missing = names.filter((n) => !passed.has(n));
  console.log(`devtools: ${passed.size}/${names.length} tools passed end to end over the kit RPC`);
  expect(missing).toEqual([]);
  expect(names.length).toBeGreaterThanOrEqual(40);
});
