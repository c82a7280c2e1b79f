import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import CDP from "chrome-remote-interface";
import * as v from "valibot";
import type { DevtoolsOptions } from "./config.ts";

export type CdpClient = CDP.Client;
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
  sessionId?: string;
}

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
  "--no-first-run",
  "--no-default-browser-check",
  "--mute-audio",
  "--hide-scrollbars",
  "--remote-debugging-port=0",
];

/**
 * One Chromium shared by every session (each gets its own browser context). Launched lazily, or attached
 * to with `CHROME_URL`; a lost connection is a crash: listeners hear it and the next `connect()` starts
 * a new browser.
 */
export class BrowserHost {
  private client: CdpClient | null = null;
  private proc: Subprocess | null = null;
  private userDataDir: string | null = null;
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
    const wsUrl = this.options.chromeUrl ? await resolveWsUrl(this.options.chromeUrl) : await this.launch();
    const client = await CDP({ target: wsUrl, local: true });
    client.on("event", (message) => {
      const event: CdpEvent = {
        method: message.method,
        params: (message.params ?? {}) as Record<string, unknown>,
      };
      if (message.sessionId) event.sessionId = message.sessionId;
      for (const listener of this.eventListeners) listener(event);
    });
    client.on("disconnect", () => this.lost(client, "the DevTools connection to Chromium was lost"));
    const version = await client.send("Browser.getVersion");
    this.version = version.product;
    return client;
  }

  private async launch(): Promise<string> {
    const problem = this.executableProblem();
    if (problem) throw new Error(problem);
    this.userDataDir = mkdtempSync(join(tmpdir(), "omni-chromium-"));
    const proc = Bun.spawn(
      [
        this.options.chromePath,
        ...LAUNCH_FLAGS,
        ...this.options.extraArgs,
        `--user-data-dir=${this.userDataDir}`,
        "about:blank",
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    this.proc = proc;
    proc.exited.then((code) => {
      if (this.proc === proc && this.client) {
        this.lost(this.client, `Chromium exited (code ${code})`);
      }
    });
    const reader = proc.stderr.getReader();
    const decoder = new TextDecoder();
    let output = "";
    const timeout = setTimeout(() => proc.kill(), 30_000);
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        output += decoder.decode(value, { stream: true });
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
        if (match?.[1]) {
          // Keep draining stderr so Chromium never blocks on a full pipe.
          void drain(reader);
          return match[1];
        }
      }
    } finally {
      clearTimeout(timeout);
    }
    throw new Error(
      `Chromium did not start: ${output.trim().split("\n").slice(-3).join(" | ") || "no output"}`,
    );
  }

  private lost(client: CdpClient, reason: string): void {
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
    if (proc && proc.exitCode === null) proc.kill("SIGKILL");
    if (this.userDataDir) {
      const dir = this.userDataDir;
      this.userDataDir = null;
      const remove = () => rmSync(dir, { recursive: true, force: true });
      if (proc) proc.exited.then(remove, remove);
      else remove();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    try {
      if (this.starting) await this.starting.catch(() => undefined);
      const client = this.client;
      this.client = null;
      if (client) {
        if (!this.options.chromeUrl) {
          await Promise.race([client.send("Browser.close").catch(() => undefined), Bun.sleep(3000)]);
        }
        await Promise.race([client.close().catch(() => undefined), Bun.sleep(1000)]);
      }
      const proc = this.proc;
      this.cleanupProcess();
      if (proc) await proc.exited;
      this.state = "stopped";
    } finally {
      this.stopping = false;
    }
  }
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) {
      // discard
    }
  } catch {
    // the process is gone
  }
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
