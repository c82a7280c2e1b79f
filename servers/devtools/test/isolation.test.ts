import { describe, expect, test } from "bun:test";
import { statelessSessionKey } from "@omni/contracts";
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
      // org_1 already has alpha and beta open (both idle); beta was used least recently.
      await h.ok("chrome_list_tabs", {}, A);
      const betaId = String((await h.ok("chrome_start_browser", {}, B)).data.browser);
      await h.ok("chrome_list_tabs", {}, A);
      const gamma = await h.ok("chrome_start_browser", {}, { session: "gamma", org: "org_1" });
      // At the cap the least recently used idle context makes room, and the result says so.
      expect(gamma.text).toContain(
        `Browser ${betaId} was closed as this organization's least recently used idle browser context`,
      );
      expect(h.def.sessions.list("org_1").map((c) => c.id)).not.toContain(betaId);
      // beta's cookies went with it: its session starts over in a fresh context.
      await h.ok("chrome_stop_browser", {}, { session: "gamma", org: "org_1" });
      expect((await h.ok("chrome_get_cookies", {}, B)).data.cookies).toEqual([]);
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

describe("stateless clients (2026-07-28): a browser handle per client", () => {
  const org = "org_stateless";
  // Two stateless clients with the same API key, and one with another key of the same organization.
  const key1 = { session: statelessSessionKey(org, "key_1"), org };
  const key2 = { session: statelessSessionKey(org, "key_2"), org };

  test(
    "each chrome_start_browser is a private context: cookies, form values, tabs and stop are per handle",
    async () => {
      expect(await h.fails("chrome_navigate", { url: `${site.url}/` }, key1)).toContain(
        "call chrome_start_browser and pass the browser id",
      );
      const one = String((await h.ok("chrome_start_browser", {}, key1)).data.browser);
      const two = String((await h.ok("chrome_start_browser", {}, key1)).data.browser);
      expect(one).toMatch(/^br_[A-Za-z0-9_-]{24}$/);
      expect(two).not.toBe(one);

      await h.ok("chrome_navigate", { url: `${site.url}/form`, browser: one }, key1);
      await h.ok("chrome_navigate", { url: `${site.url}/form`, browser: two }, key1);
      await h.ok("chrome_set_cookie", { name: "who", value: "one", browser: one }, key1);
      await h.ok("chrome_type", { element: "#name", text: "Client One", browser: one }, key1);
      // The same page in the other client's context shows none of it.
      expect((await h.ok("chrome_get_cookies", { browser: two }, key1)).data.cookies).toEqual([]);
      const value = (b: string) =>
        h.ok("chrome_evaluate", { expression: "document.getElementById('name').value", browser: b }, key1);
      expect((await value(two)).data.value).toBe("");
      expect((await value(one)).data.value).toBe("Client One");
      const tabsOne = (await h.ok("chrome_list_tabs", { browser: one }, key1)).data.tabs as {
        tabId: string;
      }[];
      const tabsTwo = (await h.ok("chrome_list_tabs", { browser: two }, key1)).data.tabs as {
        tabId: string;
      }[];
      expect(tabsOne).toHaveLength(1);
      expect(tabsTwo).toHaveLength(1);
      expect(await h.fails("chrome_select_tab", { tabId: tabsOne[0]!.tabId, browser: two }, key1)).toContain(
        "No tab",
      );

      // Another credential of the organization cannot use, see or stop the handle.
      for (const tool of ["chrome_list_tabs", "chrome_get_cookies", "chrome_stop_browser"]) {
        expect(await h.fails(tool, { browser: one }, key2)).toContain(`No browser ${one} for this client`);
      }
      // Nor can an MCP session of the organization, nor the same key in another organization.
      expect(await h.fails("chrome_get_cookies", { browser: one }, { session: "s-2025", org })).toContain(
        "No browser",
      );
      expect(
        await h.fails("chrome_get_cookies", { browser: one }, { session: key1.session, org: "org_other" }),
      ).toContain("No browser");
      // A malformed handle is a tool error naming the field.
      expect(await h.fails("chrome_list_tabs", { browser: "br_x" }, key1)).toMatch(
        /browser must be a browser id/,
      );

      // Stopping one leaves the other running with its state.
      await h.ok("chrome_stop_browser", { browser: two }, key1);
      expect(await h.fails("chrome_list_tabs", { browser: two }, key1)).toContain(
        `Browser ${two} was closed (closed by chrome_stop_browser)`,
      );
      expect((await value(one)).data.value).toBe("Client One");
      expect((await h.ok("chrome_get_cookies", { browser: one }, key1)).data.cookies).toMatchObject([
        { name: "who", value: "one" },
      ]);
      await h.ok("chrome_stop_browser", { browser: one }, key1);
    },
    T,
  );

  test(
    "at the organization's cap a busy context is never evicted; the admin list and end are per organization",
    async () => {
      const busyOrg = "org_busy";
      const c = (n: number) => ({ session: statelessSessionKey(busyOrg, `key_${n}`), org: busyOrg });
      const first = String((await h.ok("chrome_start_browser", {}, c(1))).data.browser);
      const second = String((await h.ok("chrome_start_browser", {}, c(2))).data.browser);
      await h.ok("chrome_navigate", { url: `${site.url}/`, browser: first }, c(1));
      // `first` is older but busy with a long wait; `second` is idle.
      const waiting = h.call(
        "chrome_wait_for",
        { text: "never appears", timeoutMs: 5000, browser: first },
        c(1),
      );
      while (!h.def.sessions.list(busyOrg).find((x) => x.id === first)?.busy) await Bun.sleep(20);
      const third = await h.ok("chrome_start_browser", {}, c(3));
      expect(third.text).toContain(`Browser ${second} was closed`);
      const ids = h.def.sessions.list(busyOrg).map((x) => x.id);
      expect(ids).toContain(first);
      expect(ids).not.toContain(second);
      expect(await h.fails("chrome_list_tabs", { browser: second }, c(2))).toContain(
        "least recently used idle",
      );
      // Everything busy: refused, nothing closed.
      const thirdId = String(third.data.browser);
      const waiting3 = h.call("chrome_wait_for", { text: "never", timeoutMs: 5000, browser: thirdId }, c(3));
      while (!h.def.sessions.list(busyOrg).find((x) => x.id === thirdId)?.busy) await Bun.sleep(20);
      expect(await h.fails("chrome_start_browser", {}, c(4))).toContain("all busy");
      await Promise.all([waiting, waiting3]);

      // The admin RPC lists only the organization's contexts and ends only its own.
      const listed = await h.client.listBrowserContexts(busyOrg);
      expect(listed.map((x) => x.id).sort()).toEqual([first, thirdId].sort());
      expect(listed[0]).toMatchObject({ client: "stateless", busy: false, tabs: 1 });
      expect(listed.map((x) => x.credentialId).sort()).toEqual(["key_1", "key_3"]);
      expect((await h.client.listBrowserContexts("org_nobody")).length).toBe(0);
      expect(await h.client.endBrowserContext("org_nobody", first)).toBe(false);
      expect(h.def.sessions.list(busyOrg).map((x) => x.id)).toContain(first);
      expect(await h.client.endBrowserContext(busyOrg, first)).toBe(true);
      expect(await h.fails("chrome_list_tabs", { browser: first }, c(1))).toContain(
        "ended by an administrator",
      );
      expect(await h.client.endBrowserContext(busyOrg, thirdId)).toBe(true);
      expect(await h.client.listBrowserContexts(busyOrg)).toEqual([]);
    },
    T,
  );
});
