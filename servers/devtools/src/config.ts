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
}

function intEnv(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function readOptions(env: Record<string, string | undefined> = process.env): DevtoolsOptions {
  const options: DevtoolsOptions = {
    chromePath: env.CHROME_PATH || "/usr/bin/chromium",
    extraArgs: (env.CHROME_ARGS ?? "").split(/\s+/).filter(Boolean),
    idleMs: intEnv(env, "DEVTOOLS_IDLE_MS", 15 * 60_000),
    maxContextsPerOrg: intEnv(env, "DEVTOOLS_MAX_CONTEXTS_PER_ORG", 5),
    maxTabsPerContext: intEnv(env, "DEVTOOLS_MAX_TABS_PER_CONTEXT", 10),
    navigationTimeoutMs: intEnv(env, "DEVTOOLS_NAVIGATION_TIMEOUT_MS", 30_000),
  };
  if (env.CHROME_URL) options.chromeUrl = env.CHROME_URL;
  return options;
}
