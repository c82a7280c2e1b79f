import { accessSync, constants, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "@commander-js/extra-typings";
import { migrationStatus } from "@omni/db";
import { discoverServers } from "@omni/kit/folders";
import { Redis } from "ioredis";
import { describeDatabase, openDatabase, withDatabase } from "../database.ts";
import { baseUrl, withGateway } from "../gateway.ts";
import { err, out, printJson, withProgress } from "../output.ts";
import { examples } from "../program.ts";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * `omni doctor`: checks what the platform needs, each with the fix when it fails. Exit 1 when any check
 * fails (warnings do not fail).
 */

type Outcome = "ok" | "warn" | "fail" | "skip";

export interface Check {
  name: string;
  outcome: Outcome;
  detail: string;
  fix?: string;
}

const REQUIRED_BUN = "1.4.5";

/** -1, 0, 1 for dotted numeric versions. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function checkBun(): Check {
  const version = Bun.version;
  return compareVersions(version, REQUIRED_BUN) >= 0
    ? { name: "bun", outcome: "ok", detail: `Bun ${version}` }
    : {
        name: "bun",
        outcome: "fail",
        detail: `Bun ${version} is older than ${REQUIRED_BUN}`,
        fix: `npm i -g bun@${REQUIRED_BUN}`,
      };
}

async function checkDatabase(opts: {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
}): Promise<Check[]> {
  const where = describeDatabase(opts);
  let handle: Awaited<ReturnType<typeof openDatabase>>;
  try {
    handle = await openDatabase(opts);
  } catch (error) {
    return [
      {
        name: "database",
        outcome: "fail",
        detail: (error as Error).message,
        fix: opts.databaseUrl
          ? "start Postgres (e.g. `pg_ctlcluster 16 main start` or `docker compose up postgres`) or fix DATABASE_URL"
          : "check OMNI_DATA_DIR; stop other processes using this PGlite directory",
      },
    ];
  }
  try {
    const status = await migrationStatus(handle.db);
    return [
      { name: "database", outcome: "ok", detail: `${where} (${handle.driver}) reachable` },
      status.pending.length === 0
        ? {
            name: "migrations",
            outcome: "ok",
            detail: `${status.committed.length}/${status.committed.length} applied`,
          }
        : {
            name: "migrations",
            outcome: "fail",
            detail: `${status.pending.length} pending: ${status.pending.join(", ")}`,
            fix: "omni db migrate (the gateway also migrates when it starts)",
          },
    ];
  } finally {
    await handle.close().catch(() => {});
  }
}

async function checkRedis(url: string | undefined): Promise<Check> {
  if (!url?.trim()) {
    return {
      name: "redis",
      outcome: "skip",
      detail: "REDIS_URL unset: caches and rate limits in-process (one replica)",
    };
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const pong = await redis.ping();
    return { name: "redis", outcome: "ok", detail: `${new URL(url).host} answered ${pong}` };
  } catch (error) {
    return {
      name: "redis",
      outcome: "fail",
      detail: `REDIS_URL is set but unreachable (${(error as Error).message}); the gateway refuses to start`,
      fix: "start Redis (`redis-server --daemonize yes` or `docker compose up redis`) or unset REDIS_URL",
    };
  } finally {
    redis.disconnect();
  }
}

async function checkChromium(env: Record<string, string | undefined>): Promise<Check> {
  if (env.CHROME_URL?.trim()) {
    return { name: "chromium", outcome: "ok", detail: `attaching to CHROME_URL ${env.CHROME_URL}` };
  }
  const path = env.CHROME_PATH?.trim() || "/usr/bin/chromium";
  const fix = "apt-get install -y chromium (Debian/Ubuntu), or set CHROME_PATH to a Chromium/Chrome binary";
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return {
      name: "chromium",
      outcome: existsSync(path) ? "fail" : "warn",
      detail: `${path} not found or not executable (the devtools server needs it)`,
      fix,
    };
  }
  const proc = Bun.spawn([path, "--version"], { stdout: "pipe", stderr: "ignore" });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [code, text] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  clearTimeout(timer);
  return code === 0
    ? { name: "chromium", outcome: "ok", detail: text.trim() || path }
    : { name: "chromium", outcome: "fail", detail: `${path} --version exited with ${code}`, fix };
}

/** Whether something listens on 127.0.0.1:port, and if it is an Omni service (its /health answers). */
async function checkPort(name: string, variable: string, port: number): Promise<Check> {
  let free = true;
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    free = false;
  } catch {
    free = true;
  }
  if (free) return { name: `port ${port}`, outcome: "ok", detail: `${name} (${variable}) is free` };
  const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
    .then(async (r) => (r.ok ? ((await r.json()) as { status?: string }) : null))
    .catch(() => null);
  return health
    ? {
        name: `port ${port}`,
        outcome: "ok",
        detail: `${name} (${variable}) already runs (health ${health.status ?? "ok"})`,
      }
    : {
        name: `port ${port}`,
        outcome: "warn",
        detail: `${name} (${variable}) is taken by another program`,
        fix: `stop it (\`ss -ltnp 'sport = :${port}'\` shows which), or set ${variable} to a free port`,
      };
}

function secretKeyLooksValid(value: string): boolean {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .every((k) => /^[0-9a-fA-F]{64}$/.test(k) || Buffer.from(k, "base64").length === 32);
}

function checkSecrets(env: Record<string, string | undefined>): Check[] {
  if (env.NODE_ENV !== "production") {
    return [
      {
        name: "secrets",
        outcome: "skip",
        detail:
          "NODE_ENV is not production: OMNI_SECRET_KEY optional (a development key in .data/secret.key)",
      },
    ];
  }
  const checks: Check[] = [];
  const key = env.OMNI_SECRET_KEY?.trim();
  checks.push(
    !key
      ? {
          name: "OMNI_SECRET_KEY",
          outcome: "fail",
          detail: "required in production (encrypts stored secrets)",
          fix: "set OMNI_SECRET_KEY=$(openssl rand -base64 32)",
        }
      : secretKeyLooksValid(key)
        ? { name: "OMNI_SECRET_KEY", outcome: "ok", detail: "set (32 bytes)" }
        : {
            name: "OMNI_SECRET_KEY",
            outcome: "fail",
            detail: "not 32 bytes of base64 or 64 hex digits",
            fix: "openssl rand -base64 32",
          },
  );
  if (env.OMNI_DEV_MODE === "1" || env.OMNI_DEV_MODE === "true") {
    checks.push({
      name: "OMNI_DEV_MODE",
      outcome: "fail",
      detail: "on in production: requests without credentials act as the demo org",
      fix: "unset OMNI_DEV_MODE",
    });
  }
  const host = env.HOST?.trim() || "127.0.0.1";
  if (
    !["127.0.0.1", "::1", "localhost"].includes(host) &&
    !env.ALLOWED_HOSTS?.trim() &&
    !env.PUBLIC_URL?.trim()
  ) {
    checks.push({
      name: "ALLOWED_HOSTS",
      outcome: "warn",
      detail: `HOST=${host} but ALLOWED_HOSTS is empty: only loopback Host headers are admitted`,
      fix: "set ALLOWED_HOSTS to the public host name(s), and PUBLIC_URL",
    });
  }
  const clerk = env.CLERK_JWT_KEY?.trim() || env.CLERK_SECRET_KEY?.trim();
  checks.push(
    clerk
      ? { name: "clerk", outcome: "ok", detail: "Clerk configured" }
      : {
          name: "clerk",
          outcome: "skip",
          detail: "no Clerk keys: API keys only (bootstrap with `omni orgs create`)",
        },
  );
  return checks;
}

async function checkGateway(url: string): Promise<Check> {
  const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) })
    .then(async (r) => ({
      status: r.status,
      body: (await r.json().catch(() => null)) as { status?: string; version?: string } | null,
    }))
    .catch(() => null);
  if (!health) {
    return {
      name: "gateway",
      outcome: "skip",
      detail: `nothing answers at ${url} (start it with \`bun run dev\`)`,
    };
  }
  return health.body?.status === "ok"
    ? { name: "gateway", outcome: "ok", detail: `${url} healthy (version ${health.body.version ?? "?"})` }
    : {
        name: "gateway",
        outcome: "warn",
        detail: `${url} answers but is ${health.body?.status ?? `HTTP ${health.status}`}: a domain server has no healthy instance`,
        fix: `see ${url}/health, and start the servers listed in SERVERS`,
      };
}

const ICON: Record<Outcome, string> = {
  ok: out.green("✓"),
  warn: out.yellow("!"),
  fail: out.red("✗"),
  skip: out.dim("-"),
};

export function registerDoctor(program: Command) {
  const cmd = withGateway(
    withDatabase(
      program
        .command("doctor")
        .description(
          "check Bun, the database and its migrations, Redis, Chromium, ports and production secrets",
        )
        .option("--json", "print the checks as JSON"),
    ),
  ).action(async (opts) => {
    const env = process.env;
    const checks: Check[] = await withProgress("checking", async () => [
      checkBun(),
      ...(await checkDatabase(opts)),
      await checkRedis(env.REDIS_URL),
      await checkChromium(env),
      ...(await Promise.all([
        checkPort("gateway", "PORT", Number(env.PORT || 37373)),
        // Every server folder `bun run dev` starts, on the port it would give it.
        ...discoverServers(repoRoot, env).map((s) => checkPort(s.name, s.portVariable, s.port)),
      ])),
      ...checkSecrets(env),
      await checkGateway(baseUrl(opts)),
    ]);
    const failed = checks.filter((c) => c.outcome === "fail");
    if (opts.json) printJson({ ok: failed.length === 0, checks });
    else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        process.stdout.write(`${ICON[c.outcome]} ${c.name.padEnd(width)}  ${c.detail}\n`);
        if (c.fix && c.outcome !== "ok")
          process.stdout.write(`  ${" ".repeat(width)}  ${out.dim("fix:")} ${c.fix}\n`);
      }
      process.stdout.write(
        failed.length === 0
          ? `${out.green("all good")}\n`
          : `${err.red(`${failed.length} check(s) failed`)}\n`,
      );
    }
    if (failed.length > 0) process.exitCode = 1;
  });
  examples(cmd, ["omni doctor", "NODE_ENV=production DATABASE_URL=postgres://... omni doctor --json"]);
}
