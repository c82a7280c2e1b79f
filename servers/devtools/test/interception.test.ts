import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Resolve } from "../src/policy.ts";
import { startHarness } from "./fixtures/harness.ts";
import { startSite } from "./fixtures/site.ts";

/**
 * The URL policy at the interception layers, on real Chromium, without a single packet leaving loopback:
 * the policy's resolver (injected: no DNS query is sent) says `site.test` is a public address and
 * `private.test` / `rebind.test` are private, and the context's policy proxy, which dials the address it
 * checked, is told to dial the fixture server on 127.0.0.1 instead. The page on site.test requests
 * loopback in many spellings and the private names, over HTTP and WebSocket: each must be stopped before
 * it leaves the browser (Fetch interception) or at the proxy (WebSockets), so the fixture server never
 * sees it.
 */
const table: Record<string, string[]> = {
  "site.test": ["93.184.215.14"],
  "private.test": ["10.0.0.5"],
  "rebind.test": ["93.184.215.14", "127.0.0.1"],
};
const lookups: string[] = [];
const resolve: Resolve = async (host) => {
  lookups.push(host);
  const addresses = table[host];
  if (!addresses) throw new Error(`ENOTFOUND ${host}`);
  return addresses;
};
// The policy proxy dials the address it checked; here every dial goes to the fixture server on loopback.
const h = startHarness(
  { DEVTOOLS_IDLE_MS: "600000" },
  { resolve, dial: (_address, port) => ({ host: "127.0.0.1", port }) },
);
const site = startSite();
const port = new URL(site.url).port;
const origin = `http://site.test:${port}`;
/** The organization's default policy (the harness otherwise opts in to private networks). */
const strict = { session: "strict", org: "org_strict", settings: { allowPrivateNetwork: false } };

afterAll(async () => {
  await h.close();
  await site.stop();
}, 20_000);

test("subresources, frames, beacons, redirects and script navigations to private destinations never leave", async () => {
  const nav = await h.ok("chrome_navigate", { url: `${origin}/reach` }, strict);
  expect(String(nav.data.title)).toStartWith("Reach");
  await h.ok("chrome_wait_for", { text: "reach", networkIdle: true }, strict);
  // The control request from the same page arrived: interception let allowed requests through.
  while (!site.hits.includes("/ok/allowed") || !site.hits.includes("/ok/ws")) await Bun.sleep(20);
  expect(site.hits).toContain("/redirect");
  // A script-initiated navigation to loopback is stopped too.
  await h.ok(
    "chrome_evaluate",
    { expression: `location.href = "http://127.0.0.1:${port}/leak/navigation"; 1` },
    strict,
  );
  await h.ok("chrome_wait_for", { timeoutMs: 300 }, strict);

  expect(site.hits.filter((path) => path.startsWith("/leak/"))).toEqual([]);
  const requests = await h.ok("chrome_list_requests", { failedOnly: true, limit: 200 }, strict);
  const text = JSON.stringify(requests.data);
  for (const reason of [
    "127.0.0.1 is a loopback address",
    "localhost names this machine",
    "x.localhost is a private-network name",
    "IPv6 form of the IPv4 address 127.0.0.1",
    "0.0.0.0 is the unspecified address",
    "private.test resolves to 10.0.0.5",
    "rebind.test resolves to 127.0.0.1",
  ]) {
    expect(text).toContain(reason);
  }
  // WebSockets, which Fetch interception never sees, were refused by the context's proxy.
  expect(text).toContain(`rebind.test:${port} (connection)`);
  // (Chromium may hand the proxy `localhost` already resolved: either way the loopback socket was refused.)
  expect(text).toMatch(new RegExp(`"(localhost|127\\.0\\.0\\.1):${port} \\(connection\\)"`));
  expect(lookups).toContain("site.test");
}, 60_000);

test("navigations are refused at the policy layer with the reason, before Chromium is asked", async () => {
  for (const [url, reason] of [
    [`http://private.test:${port}/leak/nav`, "private.test resolves to 10.0.0.5"],
    [`http://2130706433:${port}/leak/nav`, "127.0.0.1 is a loopback address"],
    [`http://localhost.:${port}/leak/nav`, "loopback"],
    [`http://nowhere.test:${port}/leak/nav`, "nowhere.test could not be resolved"],
    ["http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"],
  ] as const) {
    const message = await h.fails("chrome_navigate", { url }, strict);
    expect(message).toContain("is blocked");
    expect(message).toContain(reason);
  }
  expect(site.hits.filter((path) => path.startsWith("/leak/"))).toEqual([]);
  // With allowPrivateNetwork the same organization reaches its private hosts.
  const open = { ...strict, settings: { allowPrivateNetwork: true } };
  await h.ok("chrome_navigate", { url: `http://private.test:${port}/second` }, open);
  expect(site.hits).toContain("/second");
}, 60_000);

/** Socket inodes of `pid`'s open file descriptors. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      })();
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1]) inodes.add(match[1]);
    }
  } catch {
    // the process ended
  }
  return inodes;
}

test("Chromium's DevTools endpoint is a pipe: no process of the browser listens on any TCP port", async () => {
  await h.ok("chrome_start_browser", {}, strict);
  const dir = h.def.sessions.host.directory;
  expect(dir).toBeString();
  const pids = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir!);
      } catch {
        return false;
      }
    })
    .map(Number);
  expect(pids).toContain(h.def.sessions.host.pid!);
  const cmdline = readFileSync(`/proc/${h.def.sessions.host.pid}/cmdline`, "utf8").split("\0");
  expect(cmdline).toContain("--remote-debugging-pipe");
  expect(cmdline.some((arg) => arg.startsWith("--remote-debugging-port"))).toBe(false);
  const listening = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === "0A" && fields[9]) listening.add(fields[9]);
    }
  }
  const chromiumListening = pids.flatMap((pid) =>
    [...socketInodes(pid)].filter((inode) => listening.has(inode)),
  );
  expect(chromiumListening).toEqual([]);
}, 60_000);
