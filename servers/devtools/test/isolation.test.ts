import { describe, expect, test } from "bun:test";
import { startHarness, startHarnessWithSite } from "./fixtures/harness.ts";

// One Chromium for this file, with small caps so the limits are reachable.
const { h, site } = startHarnessWithSite({
  DEVTOOLS_MAX_CONTEXTS_PER_ORG: "2",
  DEVTOOLS_MAX_TABS_PER_CONTEXT: "2",
  DEVTOOLS_IDLE_MS: "600000",
});

const T = 60_000;
const A = { session: "alpha", org: "org_1" };
const B = { session: "beta", org: "org_1" };

describe("per-session isolation", () => {
  test(
    "two sessions share no cookies, storage or tabs",
    async () => {
      await h.ok("chrome_navigate", { url: `${site.url}/` }, A);
      await h.ok("chrome_navigate", { url: `${site.url}/second` }, B);
      await h.ok("chrome_set_cookie", { name: "who", value: "alpha" }, A);
      await h.ok("chrome_evaluate", { expression: "localStorage.setItem('secret', 'alpha-only'); 1" }, A);
      // Same origin in the other session: nothing of alpha's is visible.
      await h.ok("chrome_navigate", { url: `${site.url}/` }, B);
      expect((await h.ok("chrome_get_cookies", {}, B)).data.cookies).toEqual([]);
      expect((await h.ok("chrome_evaluate", { expression: "document.cookie" }, B)).data.value).toBe("");
      expect((await h.ok("chrome_get_storage", {}, B)).data.entries).toEqual({});
      // …while alpha still has them.
      expect((await h.ok("chrome_evaluate", { expression: "document.cookie" }, A)).data.value).toBe(
        "who=alpha",
      );
      expect((await h.ok("chrome_get_storage", { key: "secret" }, A)).data.entries).toEqual({
        secret: "alpha-only",
      });
      // Tabs are per session.
      const tabsA = (await h.ok("chrome_list_tabs", {}, A)).data.tabs as { tabId: string }[];
      const tabsB = (await h.ok("chrome_list_tabs", {}, B)).data.tabs as { tabId: string }[];
      expect(tabsA).toHaveLength(1);
      expect(tabsB).toHaveLength(1);
      expect(await h.fails("chrome_select_tab", { tabId: tabsA[0]!.tabId }, B)).toContain("No tab");
      // The same session key in another organization is another session.
      expect((await h.ok("chrome_get_cookies", {}, { session: "alpha", org: "org_2" })).data.cookies).toEqual(
        [],
      );
      await h.ok("chrome_stop_browser", {}, { session: "alpha", org: "org_2" });
    },
    T,
  );

  test(
    "caps on contexts per organization and tabs per context",
    async () => {
      // org_1 already has alpha and beta open.
      expect(await h.fails("chrome_start_browser", {}, { session: "gamma", org: "org_1" })).toContain(
        "already has 2 browser sessions",
      );
      // Another organization is not affected.
      await h.ok("chrome_start_browser", {}, { session: "gamma", org: "org_3" });
      await h.ok("chrome_stop_browser", {}, { session: "gamma", org: "org_3" });

      await h.ok("chrome_new_tab", {}, A);
      expect(await h.fails("chrome_new_tab", {}, A)).toContain("already has 2 tabs");
      // A popup beyond the cap is closed as well.
      await h.ok("chrome_navigate", { url: `${site.url}/popup` }, A);
      await h.ok("chrome_click", { element: "#open" }, A);
      await h.ok("chrome_wait_for", { timeoutMs: 500 }, A);
      expect((await h.ok("chrome_list_tabs", {}, A)).data.tabs as unknown[]).toHaveLength(2);
      const other = (
        (await h.ok("chrome_list_tabs", {}, A)).data.tabs as { tabId: string; current: boolean }[]
      ).find((t) => !t.current);
      await h.ok("chrome_close_tab", { tabId: other?.tabId }, A);
      // Below the cap, a popup becomes a tab of the session.
      await h.ok("chrome_click", { element: "#open" }, A);
      await h.ok("chrome_wait_for", { timeoutMs: 500 }, A);
      const tabs = (await h.ok("chrome_list_tabs", {}, A)).data.tabs as { url: string }[];
      expect(tabs.map((t) => t.url).sort()).toEqual([`${site.url}/popup`, `${site.url}/second`]);
    },
    T,
  );

  test(
    "session end and idle timeout close the context",
    async () => {
      await h.client.endSession({ sessionKey: "beta", orgId: "org_1" });
      expect(((await h.ok("chrome_browser_status", {}, B)).data.session as { open: boolean }).open).toBe(
        false,
      );

      await h.ok("chrome_start_browser", {}, B);
      // Sweep as if the idle time had passed.
      const closed = await h.def.sessions.sweepIdle(Date.now() + 600_001);
      expect(closed).toBe(2);
      expect(((await h.ok("chrome_browser_status", {}, A)).data.session as { open: boolean }).open).toBe(
        false,
      );
      // The next call gets a fresh context without the old cookie.
      await h.ok("chrome_navigate", { url: `${site.url}/` }, A);
      expect((await h.ok("chrome_evaluate", { expression: "document.cookie" }, A)).data.value).toBe("");
    },
    T,
  );

  test(
    "a Chromium crash is reported to the affected session, then the browser is restarted",
    async () => {
      await h.ok("chrome_navigate", { url: `${site.url}/` }, A);
      const pid = h.def.sessions.host.pid;
      expect(pid).not.toBeNull();
      process.kill(pid!, "SIGKILL");
      for (let i = 0; i < 100 && h.def.sessions.host.pid === pid; i++) await Bun.sleep(50);
      const error = await h.fails("chrome_list_tabs", {}, A);
      expect(error).toContain("Chromium crashed");
      expect(error).toContain("Call the tool again");
      const again = await h.ok("chrome_navigate", { url: `${site.url}/second` }, A);
      expect(again.data.title).toBe("Second");
      expect(h.def.sessions.host.pid).not.toBe(pid);
      const status = await h.ok("chrome_browser_status", {}, A);
      expect((status.data.browser as { restarts: number }).restarts).toBe(1);
      const health = await h.client.health();
      expect(health.status).toBe("ok");
    },
    T,
  );
});

describe("session-wide emulation", () => {
  const E = { session: "emu", org: "org_emu" };
  const other = { session: "emu-other", org: "org_emu" };
  const evaluate = async (expression: string, opts = E) =>
    (await h.ok("chrome_evaluate", { expression }, opts)).data.value;
  const tabIds = async () =>
    ((await h.ok("chrome_list_tabs", {}, E)).data.tabs as { tabId: string }[]).map((t) => t.tabId);

  test(
    "emulation reaches every tab of the session and tabs opened later, never another session",
    async () => {
      await h.ok("chrome_navigate", { url: `${site.url}/` }, E);
      const [first] = await tabIds();
      await h.ok("chrome_new_tab", { url: `${site.url}/second` }, E);
      // Set while the second tab is current: the first tab gets it too.
      await h.ok("chrome_set_viewport", { width: 500, height: 400 }, E);
      expect(await evaluate("innerWidth")).toBe(500);
      await h.ok("chrome_select_tab", { tabId: first }, E);
      expect(await evaluate("[innerWidth, innerHeight]")).toEqual([500, 400]);

      await h.ok("chrome_set_user_agent", { userAgent: "OmniEmu/1.0", acceptLanguage: "de-DE" }, E);
      await h.ok("chrome_set_color_scheme", { scheme: "dark" }, E);
      await h.ok("chrome_throttle_network", { preset: "Slow 3G" }, E);
      await h.ok("chrome_set_geolocation", { latitude: 48.8584, longitude: 2.2945 }, E);
      await h.ok("chrome_throttle_cpu", { rate: 2 }, E);

      // A tab opened later has all of it from its first request on.
      const second = (await tabIds()).find((id) => id !== first);
      await h.ok("chrome_close_tab", { tabId: second }, E);
      await h.ok("chrome_new_tab", { url: `${site.url}/headers` }, E);
      const headers = JSON.parse(String(await evaluate("document.body.innerText"))) as Record<string, string>;
      expect(headers["user-agent"]).toBe("OmniEmu/1.0");
      expect(headers["accept-language"]).toStartWith("de-DE");
      expect(await evaluate("[innerWidth, innerHeight]")).toEqual([500, 400]);
      expect(await evaluate("navigator.userAgent")).toBe("OmniEmu/1.0");
      expect(await evaluate("matchMedia('(prefers-color-scheme: dark)').matches")).toBe(true);
      expect(await evaluate("navigator.connection.rtt")).toBeGreaterThanOrEqual(1500);
      expect(
        await evaluate(
          "new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition((p) => resolve(p.coords.latitude), (e) => reject(e.message)))",
        ),
      ).toBe(48.8584);

      // Offline applies to both tabs at once, and back online.
      await h.ok("chrome_set_offline", { offline: true }, E);
      expect(await evaluate("navigator.onLine")).toBe(false);
      await h.ok("chrome_select_tab", { tabId: first }, E);
      expect(await evaluate("navigator.onLine")).toBe(false);
      await h.ok("chrome_set_offline", { offline: false }, E);
      expect(await evaluate("navigator.onLine")).toBe(true);

      // Another session of the same organization is untouched.
      await h.ok("chrome_navigate", { url: `${site.url}/` }, other);
      expect(await evaluate("innerWidth", other)).not.toBe(500);
      expect(await evaluate("navigator.userAgent", other)).not.toBe("OmniEmu/1.0");
      expect(await evaluate("matchMedia('(prefers-color-scheme: dark)').matches", other)).toBe(false);

      // A reset clears every tab and is not replayed in new ones.
      await h.ok("chrome_set_viewport", { reset: true }, E);
      expect(await evaluate("innerWidth")).not.toBe(500);
      const latest = (await tabIds()).find((id) => id !== first);
      await h.ok("chrome_select_tab", { tabId: latest }, E);
      expect(await evaluate("innerWidth")).not.toBe(500);
      await h.ok("chrome_close_tab", {}, E);
      await h.ok("chrome_new_tab", { url: `${site.url}/` }, E);
      expect(await evaluate("innerWidth")).not.toBe(500);
      expect(await evaluate("navigator.userAgent")).toBe("OmniEmu/1.0");

      await h.ok("chrome_stop_browser", {}, E);
      await h.ok("chrome_stop_browser", {}, other);
    },
    T,
  );
});

describe("no Chromium", () => {
  test("a missing browser is a clear tool error and health is down", async () => {
    const missing = startHarness({ CHROME_PATH: "/nonexistent/chromium" });
    try {
      const health = await missing.client.health();
      expect(health.status).toBe("down");
      expect(String(health.details?.error)).toContain("/nonexistent/chromium");
      const error = await missing.fails("chrome_navigate", { url: "http://127.0.0.1:1/" });
      expect(error).toContain("The browser is unavailable");
      expect(error).toContain("CHROME_PATH");
    } finally {
      await missing.close();
    }
  });
});
