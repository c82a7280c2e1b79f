import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import * as v from "valibot";
import { CdpClient, type CdpEvent, pipeTransport, webSocketTransport } from "./cdp.ts";
import type { DevtoolsOptions } from "./config.ts";

export { CdpClient, type CdpEvent } from "./cdp.ts";

type BrowserState = "stopped" | "starting" | "running" | "crashed" | "unavailable";

const LAUNCH_FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-breakpad",
  "--no-first-run",
  "--no-default-browser-check",
  "--mute-audio",
  "--hide-scrollbars",
  // CDP over fds 3/4 only: no port a page (or anyone on the host) could reach, and Chromium exits when
  // the pipe closes, i.e. when this server goes away however it ends.
  "--remote-debugging-pipe",
];

/** Directories of launched browsers still on disk, removed synchronously if the process exits first. */
const liveDirs = new Map<string, ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [dir, proc] of liveDirs) {
      if (proc.pid && proc.exitCode === null && proc.signalCode === null) killGroup(proc.pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * One Chromium shared by every session (each gets its own browser context). Launched lazily with
 * `--remote-debugging-pipe` (its profile and its TMPDIR in one private directory removed when it stops),
 * or attached to with `CHROME_URL`; a lost connection is a crash: listeners hear it and the next
 * `connect()` starts a new browser.
 */
export class BrowserHost {
  private client: CdpClient | null = null;
  private proc: ChildProcess | null = null;
  private workDir: string | null = null;
  private starting: Promise<CdpClient> | null = null;
  private stopping = false;
  state: BrowserState = "stopped";
  lastError: string | undefined;
  version: string | undefined;
  /** Bumped on every (re)start; sessions remember the generation they were made in. */
  generation = 0;
  restarts = 0;
  private readonly eventListeners = new Set<(event: CdpEvent) => void>();
  private readonly crashListeners = new Set<(reason: string) => void>();

  constructor(private readonly options: DevtoolsOptions) {}

  /** Hear every CDP event of the connection; returns the function that stops listening. */
  onEvent(listener: (event: CdpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }
  onCrash(listener: (reason: string) => void): void {
    this.crashListeners.add(listener);
  }

  /** The launched browser's process id (null when attached or not running). */
  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** The launched browser's private directory (profile + TMPDIR), null when attached or not running. */
  get directory(): string | null {
    return this.workDir;
  }

  /** Whether a browser can be reached without starting one (for health). */
  executableProblem(): string | null {
    if (this.options.chromeUrl) return null;
    try {
      accessSync(this.options.chromePath, constants.X_OK);
      return null;
    } catch {
      return `Chromium was not found at ${this.options.chromePath}: install chromium or set CHROME_PATH (or CHROME_URL to attach to a running browser)`;
    }
  }

  async connect(): Promise<CdpClient> {
    if (this.client && this.state === "running") return this.client;
    if (!this.starting) {
      const wasCrashed = this.state === "crashed";
      this.state = "starting";
      this.starting = this.start()
        .then((client) => {
          this.client = client;
          this.state = "running";
          this.lastError = undefined;
          this.generation++;
          if (wasCrashed) this.restarts++;
          return client;
        })
        .catch((err: unknown) => {
          this.state = "unavailable";
          this.lastError = err instanceof Error ? err.message : String(err);
          this.cleanupProcess();
          throw new Error(this.lastError);
        })
        .finally(() => {
          this.starting = null;
        });
    }
    return this.starting;
  }

  private async start(): Promise<CdpClient> {
    const client = this.options.chromeUrl ? await this.attach(this.options.chromeUrl) : this.launch();
    client.on("event", (event) => {
      for (const listener of this.eventListeners) listener(event);
    });
    client.on("disconnect", () => this.lost(client, "the DevTools connection to Chromium was lost"));
    const version = await withTimeout(client.send("Browser.getVersion"), 30_000, () =>
      this.launchFailure("did not answer over the DevTools pipe within 30 s"),
    ).catch((err: unknown) => {
      if (this.options.chromeUrl) throw err;
      throw this.launchFailure(`did not start (${err instanceof Error ? err.message : String(err)})`);
    });
    this.version = version.product;
    return client;
  }

  private async attach(chromeUrl: string): Promise<CdpClient> {
    const wsUrl = await resolveWsUrl(chromeUrl);
    return new CdpClient(await webSocketTransport(wsUrl));
  }

  private stderrTail = "";

  private launchFailure(what: string): Error {
    const tail = this.stderrTail.trim().split("\n").slice(-3).join(" | ");
    return new Error(`Chromium ${what}${tail ? `: ${tail}` : ""}`);
  }

  private launch(): CdpClient {
    const problem = this.executableProblem();
    if (problem) throw new Error(problem);
    installExitHook();
    const dir = mkdtempSync(join(tmpdir(), "omni-chromium-"));
    const scratch = join(dir, "tmp");
    mkdirSync(scratch);
    this.workDir = dir;
    this.stderrTail = "";
    const proc = spawn(
      this.options.chromePath,
      [...LAUNCH_FLAGS, ...this.options.extraArgs, `--user-data-dir=${join(dir, "profile")}`, "about:blank"],
      {
        // Chromium's own temporary files (/tmp/org.chromium.*) go to a directory we remove.
        env: { ...process.env, TMPDIR: scratch },
        stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
        // Its own process group, so stopping it ends its renderers and helpers too.
        detached: true,
      },
    );
    this.proc = proc;
    liveDirs.set(dir, proc);
    proc.stderr?.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    const client = new CdpClient(pipeTransport(proc.stdio[3] as Writable, proc.stdio[4] as Readable));
    proc.once("exit", (code, signal) => {
      if (this.proc === proc) this.lost(client, `Chromium exited (${signal ?? `code ${code}`})`);
    });
    proc.once("error", (err) => this.lost(client, `Chromium could not run: ${err.message}`));
    return client;
  }

  private lost(client: CdpClient, reason: string): void {
    void client.close();
    if (this.client !== client) return;
    this.client = null;
    if (this.stopping) return;
    this.state = "crashed";
    this.lastError = reason;
    this.cleanupProcess();
    for (const listener of this.crashListeners) listener(reason);
  }

  private cleanupProcess(): void {
    const proc = this.proc;
    this.proc = null;
    if (proc?.pid && proc.exitCode === null && proc.signalCode === null) killGroup(proc.pid);
    const dir = this.workDir;
    this.workDir = null;
    if (!dir) return;
    const remove = () => {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    };
    if (proc) exited(proc).then(remove, remove);
    else remove();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    try {
      if (this.starting) await this.starting.catch(() => undefined);
      const client = this.client;
      this.client = null;
      const proc = this.proc;
      // A launched Chromium is ended at once, with every process of its group: its profile is thrown
      // away anyway, so a graceful Browser.close would only make shutdown slower.
      await client?.close();
      this.cleanupProcess();
      if (proc) await exited(proc);
      this.state = "stopped";
    } finally {
      this.stopping = false;
    }
  }
}

/** SIGKILL a launched Chromium's whole process group (browser, zygotes, renderers, utilities). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once("exit", () => resolve()));
}

/** `promise`, or `onTimeout()`'s error after `ms` (the timer is cleared either way). */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const VersionInfo = v.object({ webSocketDebuggerUrl: v.string() });

/** `ws://…` is used as is; `http://host:port` is asked for its browser WebSocket URL. */
async function resolveWsUrl(chromeUrl: string): Promise<string> {
  if (chromeUrl.startsWith("ws://") || chromeUrl.startsWith("wss://")) return chromeUrl;
  const res = await fetch(new URL("/json/version", chromeUrl), { signal: AbortSignal.timeout(5000) }).catch(
    (err: unknown) => {
      throw new Error(`Cannot reach the browser at CHROME_URL ${chromeUrl}: ${String(err)}`);
    },
  );
  const body = v.safeParse(VersionInfo, await res.json());
  if (!body.success) throw new Error(`CHROME_URL ${chromeUrl} did not report a webSocketDebuggerUrl`);
  return body.output.webSocketDebuggerUrl;
}
