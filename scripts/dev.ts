/**
 * `bun run dev`: the whole platform on the embedded defaults (PGlite in .data/, no Redis needed) in one
 * command — every domain server folder under servers/ and the gateway, with prefixed, coloured logs. Ctrl-C stops all.
 */
import { discoverServers, serversEnv } from "../servers/kit/src/folders.ts";
import { loadInternalToken } from "../servers/kit/src/internal-token.ts";

const root = new URL("..", import.meta.url).pathname;
// Every folder under servers/ with a kit server (not kit itself): see servers/kit/src/folders.ts.
const folders = discoverServers(root);

if (process.argv.includes("--help")) {
  console.log(`usage: bun run dev

Starts every domain server under servers/ (each folder with a kit server: ${folders.map((f) => `${f.name} :${f.port}`).join(", ")})
and the gateway (:37373) in local development mode (OMNI_DEV_MODE=1: requests without credentials act as
the demo organization, allowed only on loopback). Builds the admin dashboard first
(http://127.0.0.1:37373/admin). Reads .env if present (every variable, with its default, is in
.env.example).

Ports: <NAME>_PORT (the folder's name upper-cased, dashes as underscores) when set, else "omni.port" in
the folder's package.json (linear 3001, perplexity 3002, devtools 3003), else the next port above the
highest one taken, in folder-name order.

Environment:
  PORT             the gateway's port (default 37373)
${folders.map((f) => `  ${f.portVariable.padEnd(16)} ${f.name}'s port (now ${f.port})`).join("\n")}
  SERVERS          the gateway's server list (default: every folder above on 127.0.0.1)
  OMNI_DEV_MODE    1 (default here) or 0 to require credentials
  OMNI_DATA_DIR    PGlite in <dir>/pglite and the development secret key (default .data/)
  DATABASE_URL     Postgres instead of PGlite; REDIS_URL for Redis
  DATABASE_READ_URLS  Postgres read replicas of DATABASE_URL, comma-separated (default none)
  ADMIN_BUILD      0 skips building the admin dashboard (default 1)
  OMNI_INTERNAL_TOKEN  shared by the gateway and the domain servers (generated once into
                   .data/internal.token when unset)
  OMNI_OPERATOR_TOKEN  the gateway's operator API (omni servers instances; generated once into
                   .data/operator.token when unset)
  DRAIN_DELAY_MS   the gateway's drain delay on Ctrl-C (default 0 here: no load balancer)

Ctrl-C (or SIGTERM) stops the gateway first and waits for it to drain and exit (at most its
DRAIN_TIMEOUT_MS + 5 s), then the domain servers; a second Ctrl-C kills everything at once.`);
  process.exit(0);
}

interface Service {
  name: string;
  color: number;
  entry: string;
  env: Record<string, string>;
}

const COLORS = [35, 36, 33, 34, 31, 95, 96, 93];
const services: Service[] = [
  ...folders.map((f, i) => ({
    name: f.name,
    color: COLORS[i % COLORS.length]!,
    entry: f.entry,
    env: { PORT: String(f.port) },
  })),
  {
    name: "gateway",
    color: 32,
    entry: "gateway/src/index.ts",
    env: {
      PORT: process.env.PORT ?? "37373",
      SERVERS: process.env.SERVERS ?? serversEnv(folders),
      OMNI_DEV_MODE: process.env.OMNI_DEV_MODE ?? "1",
      // No load balancer to notice /ready turning 503: Ctrl-C need not wait for one.
      DRAIN_DELAY_MS: process.env.DRAIN_DELAY_MS ?? "0",
    },
  },
];

// One internal RPC token for every process: OMNI_INTERNAL_TOKEN, else the development one in .data/.
const internalToken = loadInternalToken();

const width = Math.max(...services.map((s) => s.name.length));
interface Child {
  service: Service;
  prefix: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
}
const children: Child[] = [];
let stopping = false;

/** The longest the gateway may take to drain and exit before it is killed (its DRAIN_TIMEOUT_MS + 5 s). */
const gatewayStopMs = (Number(process.env.DRAIN_TIMEOUT_MS) || 30_000) + 5000;
/** The longest a domain server may take to exit once asked. */
const serverStopMs = 5000;

async function pipe(stream: ReadableStream<Uint8Array>, prefix: string, out: NodeJS.WriteStream) {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    const chunk = next.value;
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      out.write(`${prefix} ${buffered.slice(0, newline)}\n`);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered) out.write(`${prefix} ${buffered}\n`);
}

/** SIGTERM to each child still running; SIGKILL to those not gone within `ms`. */
async function stopChildren(group: Child[], ms: number): Promise<void> {
  const running = group.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
  for (const child of running) child.proc.kill("SIGTERM");
  const exited = Promise.all(running.map((c) => c.proc.exited));
  const late = await Promise.race([exited.then(() => false), Bun.sleep(ms).then(() => true)]);
  if (!late) return;
  for (const child of running) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) continue;
    console.error(`${child.prefix} did not stop within ${ms} ms; killing it`);
    child.proc.kill("SIGKILL");
  }
  await exited;
}

/**
 * Stops everything in order: the gateway first (it drains: its calls in flight still reach the domain
 * servers, and its health checks see them up to the end), waiting for it to exit (at most
 * `gatewayStopMs`), then the domain servers. A second Ctrl-C kills everything at once.
 */
async function stopAll(code: number): Promise<void> {
  if (stopping) {
    for (const child of children) child.proc.kill("SIGKILL");
    process.exit(code);
  }
  stopping = true;
  await stopChildren(
    children.filter((c) => c.service.name === "gateway"),
    gatewayStopMs,
  );
  await stopChildren(
    children.filter((c) => c.service.name !== "gateway"),
    serverStopMs,
  );
  process.exit(code);
}

// The admin dashboard: built once (a few seconds) and served by the gateway at /admin. For live edits run
// `bun run --cwd admin dev` (vite build --watch) beside it; ADMIN_BUILD=0 skips the build.
if (process.env.ADMIN_BUILD !== "0") {
  const build = Bun.spawn(["bun", "run", "--cwd", `${root}admin`, "build"], {
    stdout: "ignore",
    stderr: "inherit",
  });
  if ((await build.exited) !== 0) console.error("admin: the dashboard build failed; /admin will say so");
}

// Each child in a process group of its own (`detached`): a Ctrl-C in the terminal reaches only this
// script, which stops the children in order (a terminal sends SIGINT to its whole foreground group).
for (const service of services) {
  const prefix = `\x1b[${service.color}m${service.name.padEnd(width)} │\x1b[0m`;
  const proc = Bun.spawn(["bun", `${root}${service.entry}`], {
    cwd: root,
    env: { ...process.env, OMNI_INTERNAL_TOKEN: internalToken, ...service.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  children.push({ service, prefix, proc });
  void pipe(proc.stdout, prefix, process.stdout);
  void pipe(proc.stderr, prefix, process.stderr);
  void proc.exited.then((code) => {
    if (stopping) return;
    console.error(`${prefix} exited with code ${code}; stopping the others`);
    void stopAll(code === 0 ? 1 : code);
  });
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stopAll(0));
// Detached children do not share this script's fate: none outlives it, whatever ends it.
process.on("exit", () => {
  for (const child of children) if (child.proc.exitCode === null) child.proc.kill("SIGKILL");
});
