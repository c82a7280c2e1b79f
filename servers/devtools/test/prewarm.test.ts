import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { startHarness } from "./fixtures/harness.ts";
import { type Site, startSite } from "./fixtures/site.ts";

// DEVTOOLS_PREWARM: Chromium launched in advance, one spare browser context (proxy, blank tab with
// interception) handed whole to the next new session and made again once the server is idle.
const site: Site = startSite();
afterAll(() => site.stop(), 20_000);

const T = 60_000;

/** Processes whose command line mentions `dir` (a launched Chromium has its profile there). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Resolves once `check` returns a value (polled every 20 ms), or fails after `ms`. */
async function until<T>(check: () => T | null | undefined, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

test(
  "the prewarmed browser and spare context serve the first call; another spare is made for the next session, which shares nothing with the first",
  async () => {
    const h = startHarness({}, { prewarm: true });
    try {
      const sessions = h.def.sessions;
      expect(await sessions.prewarm()).toBe(true);
      // Chromium runs before any call, with a spare context and its blank tab.
      const pid = sessions.host.pid;
      expect(pid).toBeNumber();
      expect(sessions.size).toBe(0);
      const first = sessions.spareInfo();
      expect(first).not.toBeNull();

      const A = { session: "alpha", org: "org_a" };
      await h.ok("chrome_navigate", { url: `${site.url}/` }, A);
      // The first session got the spare's tab, in the browser launched in advance.
      const tabsA = (await h.ok("chrome_list_tabs", {}, A)).data.tabs as { tabId: string }[];
      expect(tabsA.map((t) => t.tabId)).toEqual([first?.targetId ?? ""]);
      expect(sessions.host.pid).toBe(pid);
      await h.ok("chrome_set_cookie", { name: "who", value: "alpha" }, A);

      // Once the server is idle a new spare is made: another context, another tab.
      const second = await until(() => {
        const spare = sessions.spareInfo();
        return spare && spare.contextId !== first?.contextId ? spare : null;
      }, "a replenished spare context");
      expect(second.targetId).not.toBe(first?.targetId);

      // Another organization's session takes it: same site, none of alpha's cookies.
      const B = { session: "beta", org: "org_b" };
      await h.ok("chrome_navigate", { url: `${site.url}/` }, B);
      const tabsB = (await h.ok("chrome_list_tabs", {}, B)).data.tabs as { tabId: string }[];
      expect(tabsB.map((t) => t.tabId)).toEqual([second.targetId]);
      expect((await h.ok("chrome_evaluate", { expression: "document.cookie" }, B)).data.value).toBe("");
      expect((await h.ok("chrome_evaluate", { expression: "document.cookie" }, A)).data.value).toBe(
        "who=alpha",
      );
      expect(sessions.host.pid).toBe(pid);

      // The taken context applies its session's URL policy: without allowPrivateNetwork, loopback is refused
      // (the navigation check), and a page's own fetch to it too (interception and the context's proxy).
      const C = { session: "gamma", org: "org_c" };
      const strict = { ...C, settings: { allowPrivateNetwork: false } };
      expect(await h.fails("chrome_navigate", { url: `${site.url}/` }, strict)).toContain("blocked");
      await h.ok("chrome_navigate", { url: "data:text/html,<title>blank</title>" }, strict);
      const fetched = await h.ok(
        "chrome_evaluate",
        {
          expression: `fetch(${JSON.stringify(`${site.url}/`)}).then(() => "loaded", () => "refused")`,
        },
        strict,
      );
      expect(fetched.data.value).toBe("refused");
    } finally {
      await h.close();
    }
  },
  T,
);

test(
  "closing while the spare is still being made leaves no Chromium process and no directory",
  async () => {
    const h = startHarness({}, { prewarm: true });
    const sessions = h.def.sessions;
    const ready = sessions.prewarm();
    // The launch has begun: its private directory (profile + TMPDIR) exists.
    const dir = sessions.host.directory;
    expect(dir).toBeString();
    const pids = await until(() => {
      const found = processesUsing(dir ?? "");
      return found.length > 0 ? found : null;
    }, "the launched Chromium");
    await h.close();
    // The spare being made gives up (or was just done): either way the promise settles.
    await ready;
    expect(pids.filter((p) => existsSync(`/proc/${p}`) && !zombie(p))).toEqual([]);
    expect(processesUsing(dir ?? "")).toEqual([]);
    expect(existsSync(dir ?? "")).toBe(false);
  },
  T,
);

test("with prewarm off, prewarm() launches nothing", async () => {
  const h = startHarness({}, { prewarm: false });
  try {
    expect(await h.def.sessions.prewarm()).toBe(false);
    expect(h.def.sessions.host.pid).toBeNull();
    expect(h.def.sessions.spareInfo()).toBeNull();
  } finally {
    await h.close();
  }
});

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}
