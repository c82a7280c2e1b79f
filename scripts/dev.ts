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
                   .data/internal.token when unset)`);
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
    },
  },
];

// One internal RPC token for every process: OMNI_INTERNAL_TOKEN, else the development one in .data/.
const internalToken = loadInternalToken();

const width = Math.max(...services.map((s) => s.name.length));
const children: ReturnType<typeof Bun.spawn>[] = [];
let stopping = false;

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

function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children) child.kill("SIGKILL");
    process.exit(code);
  }, 5000).unref();
  Promise.all(children.map((c) => c.exited)).then(() => process.exit(code));
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

for (const service of services) {
  const prefix = `\x1b[${service.color}m${service.name.padEnd(width)} │\x1b[0m`;
  const child = Bun.spawn(["bun", `${root}${service.entry}`], {
    cwd: root,
    env: { ...process.env, OMNI_INTERNAL_TOKEN: internalToken, ...service.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  children.push(child);
  void pipe(child.stdout, prefix, process.stdout);
  void pipe(child.stderr, prefix, process.stderr);
  void child.exited.then((code) => {
    if (stopping) return;
    console.error(`${prefix} exited with code ${code}; stopping the others`);
    stopAll(code === 0 ? 1 : code);
  });
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
