import type { Resolve } from "./policy.ts";

/** Launch and isolation settings of the DevTools server, read once from the environment. */
export interface DevtoolsOptions {
  /** Chromium executable to launch (ignored when `chromeUrl` is set). */
  chromePath: string;
  /** Attach to a running browser instead of launching one: `ws://…/devtools/browser/…` or `http://host:port`. */
  chromeUrl?: string;
  /** Extra command-line flags for a launched Chromium. */
  extraArgs: string[];
  /** A session's browser context is closed after this long without a call. */
  idleMs: number;
  maxContextsPerOrg: number;
  maxTabsPerContext: number;
  /** Longest a navigation or wait may take. */
  navigationTimeoutMs: number;
  /**
   * How the URL policy resolves host names (default: `dns.lookup`, all addresses). Set in code only,
   * e.g. by tests that must not send a DNS query anywhere.
   */
  resolve?: Resolve;
  /**
   * Where the per-context proxy connects for a checked address (default: that address). Set in code only,
   * by tests that must keep every packet on loopback.
   */
  dial?: (address: string, port: number) => { host: string; port: number };
  /**
   * Standalone runs only (stdio, the server's own /mcp, where no organization settings exist): let the
   * browser reach private networks, like an organization's `allowPrivateNetwork` setting.
   */
  standaloneAllowPrivateNetwork: boolean;
  /** ffmpeg that encodes screencasts to MP4 (Debian's by default). */
  ffmpegPath: string;
  /**
   * The server entries (`src/index.ts`, `src/stdio.ts`) start Chromium at start-up and keep one fresh
   * browser context with a blank tab ready for the next client, made again after one is taken
   * (`SessionManager.prewarm`). Default on.
   */
  prewarm: boolean;
}

function intEnv(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function boolEnv(env: Record<string, string | undefined>, name: string, fallback = false): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

export function readOptions(env: Record<string, string | undefined> = process.env): DevtoolsOptions {
  const options: DevtoolsOptions = {
    chromePath: env.CHROME_PATH || "/usr/bin/chromium",
    extraArgs: (env.CHROME_ARGS ?? "").split(/\s+/).filter(Boolean),
    idleMs: intEnv(env, "DEVTOOLS_IDLE_MS", 15 * 60_000),
    maxContextsPerOrg: intEnv(env, "DEVTOOLS_MAX_CONTEXTS_PER_ORG", 5),
    maxTabsPerContext: intEnv(env, "DEVTOOLS_MAX_TABS_PER_CONTEXT", 10),
    navigationTimeoutMs: intEnv(env, "DEVTOOLS_NAVIGATION_TIMEOUT_MS", 30_000),
    standaloneAllowPrivateNetwork: boolEnv(env, "DEVTOOLS_ALLOW_PRIVATE_NETWORK"),
    ffmpegPath: env.FFMPEG_PATH || "/usr/bin/ffmpeg",
    prewarm: boolEnv(env, "DEVTOOLS_PREWARM", true),
  };
  if (env.CHROME_URL) options.chromeUrl = env.CHROME_URL;
  return options;
}

/** `--help` of the server's commands (`bun src/index.ts`, `bun src/stdio.ts`). */
export function helpText(command: "start" | "stdio"): string {
  const what =
    command === "start"
      ? "Chrome DevTools MCP domain server over HTTP: RPC for the gateway, standalone MCP at /mcp."
      : "Chrome DevTools MCP server over stdio, for a local MCP client (ends when stdin closes).";
  return `${what}

Usage: bun src/${command === "start" ? "index" : "stdio"}.ts [--help]

Environment (see .env.example):
  ${command === "start" ? "PORT                            HTTP port (default 3003)\n  HOST                            listen address (default 127.0.0.1)\n  " : ""}CHROME_PATH                     Chromium to launch (default /usr/bin/chromium)
  CHROME_URL                      attach to a running browser instead (ws://... or http://host:port)
  CHROME_ARGS                     extra Chromium flags, space separated
  DEVTOOLS_IDLE_MS                close a client's browser context after this long unused (default 900000)
  DEVTOOLS_MAX_CONTEXTS_PER_ORG   browser contexts per organization (default 5; the LRU idle one makes room)
  DEVTOOLS_MAX_TABS_PER_CONTEXT   tabs per context (default 10)
  DEVTOOLS_NAVIGATION_TIMEOUT_MS  longest navigation wait (default 30000)
  DEVTOOLS_ALLOW_PRIVATE_NETWORK  standalone runs: let pages reach loopback/private networks (default false)
  DEVTOOLS_PREWARM                start Chromium at start-up and keep one fresh context with a blank tab
                                  ready for the next client (default true; false: launch on first use)
`;
}
