import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
    env: { ...env, TMPDIR: childTmp, DEVTOOLS_IDLE_MS: "600000", DEVTOOLS_ALLOW_PRIVATE_NETWORK: "true" },
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

    // DEVTOOLS_PREWARM (default on): Chromium starts with the server, before any call, and says so.
    const deadline = Date.now() + 30_000;
    while (!stderr.includes("devtools: ready") && Date.now() < deadline) await Bun.sleep(20);
    expect(stderr).toContain("devtools: ready");
    expect(readdirSync(childTmp).filter((d) => d.startsWith("omni-chromium-"))).toHaveLength(1);
    expect(processesUsing(childTmp).length).toBeGreaterThan(0);

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

    // Bad arguments are a tool error naming the field (so a model can correct itself); the server keeps running.
    const invalid = await client.callTool({ name: "chrome_navigate", arguments: { url: 42 } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/url/);
    expect((await client.listTools()).tools.length).toBe(tools.length);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- server stderr ---\n${stderr}`);
  } finally {
    await client.close();
  }
  // Closing stdin ends the server, which stops Chromium and removes its profile directory.
  expect(readdirSync(childTmp).filter((d) => d.startsWith("omni-chromium-"))).toEqual([]);
}, 60_000);

/** Processes whose command line mentions `dir` (the Chromium launched with its profile there). */
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

/** Spawn the stdio server in its own TMPDIR, navigate (so a deadline timer ran) and upload a file. */
async function startedServer(tmp: string) {
  const proc = Bun.spawn([process.execPath, "src/stdio.ts"], {
    cwd: join(import.meta.dir, ".."),
    env: {
      ...process.env,
      TMPDIR: tmp,
      DEVTOOLS_IDLE_MS: "600000",
      // A long navigation deadline: a timer left pending would keep the process alive a minute.
      DEVTOOLS_NAVIGATION_TIMEOUT_MS: "60000",
      DEVTOOLS_ALLOW_PRIVATE_NETWORK: "true",
    },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "ignore",
  });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const answers = new Map<number, unknown>();
  async function rpc(id: number, method: string, params: Record<string, unknown>) {
    proc.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    proc.stdin.flush();
    while (!answers.has(id)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server closed stdout");
      buffered += new TextDecoder().decode(value);
      let nl = buffered.indexOf("\n");
      while (nl !== -1) {
        const message = JSON.parse(buffered.slice(0, nl)) as { id?: number; result?: unknown };
        if (message.id !== undefined) answers.set(message.id, message.result);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
      }
    }
    return answers.get(id);
  }
  await rpc(1, "initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "stdio-exit-test", version: "1" },
  });
  proc.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
  const call = (id: number, name: string, args: Record<string, unknown>) =>
    rpc(id, "tools/call", { name, arguments: args }) as Promise<{ isError?: boolean }>;
  expect((await call(2, "chrome_navigate", { url: `${site.url}/form` })).isError).toBeFalsy();
  const upload = await call(3, "chrome_upload_file", {
    element: "#file",
    files: [{ name: "a.txt", content: "hello" }],
  });
  expect(upload.isError).toBeFalsy();
  const entries = readdirSync(tmp);
  expect(entries.filter((d) => d.startsWith("omni-chromium-"))).toHaveLength(1);
  expect(entries.filter((d) => d.startsWith("omni-upload-"))).toHaveLength(1);
  const chromium = processesUsing(tmp);
  expect(chromium.length).toBeGreaterThan(0);
  return { proc, chromium };
}

/** Whether `pid` is still a process (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z") return false;
    return true;
  } catch {
    return false;
  }
}

test("stdin closing after a navigation: the server exits promptly (not after the 30 s navigation deadline), leaving no Chromium and no directories", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "omni-stdio-exit-"));
  try {
    const { proc, chromium } = await startedServer(tmp);
    const closedAt = performance.now();
    proc.stdin.end();
    const code = await proc.exited;
    const took = performance.now() - closedAt;
    expect(code).toBe(0);
    // The navigation's 30 s deadline timer used to keep the process alive; exiting well before it proves
    // nothing holds the event loop. The bound has room for a loaded CI machine (typically ~0.3 s here).
    console.log(`devtools stdio: exited ${Math.round(took)} ms after stdin closed`);
    expect(took).toBeLessThan(10_000);
    expect(chromium.filter(alive)).toEqual([]);
    // Nothing of the browser is left: no profile, no org.chromium.* temporary files, no upload directory.
    expect(readdirSync(tmp)).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal}: the server stops Chromium and removes its directories before exiting`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), "omni-stdio-signal-"));
    try {
      const { proc, chromium } = await startedServer(tmp);
      proc.kill(signal);
      expect(await proc.exited).toBe(0);
      expect(chromium.filter(alive)).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
}

test("SIGTERM while Chromium is still being prewarmed (before any client message): nothing is left", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "omni-stdio-prewarm-"));
  try {
    const proc = Bun.spawn([process.execPath, "src/stdio.ts"], {
      cwd: join(import.meta.dir, ".."),
      env: { ...process.env, TMPDIR: tmp, DEVTOOLS_PREWARM: "true" },
      stdin: "pipe",
      stdout: "ignore",
      stderr: "ignore",
    });
    // The launch starts with the process, before the tools load and before any client message.
    const deadline = Date.now() + 30_000;
    let chromium: number[] = [];
    while (chromium.length === 0 && Date.now() < deadline) {
      chromium = processesUsing(tmp);
      if (chromium.length === 0) await Bun.sleep(10);
    }
    expect(chromium.length).toBeGreaterThan(0);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(processesUsing(tmp).filter(alive)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);
