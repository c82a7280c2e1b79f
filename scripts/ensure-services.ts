/**
 * Makes sure what the test suites need is here: PostgreSQL and Redis on loopback (started when down)
 * and the Debian packages the suites drive (Chromium, ffmpeg, HAProxy), installed when missing. Idempotent; says what it does.
 */
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";

function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

async function run(cmd: string[]): Promise<boolean> {
  const proc = Bun.spawn(cmd, { stdout: "inherit", stderr: "inherit" });
  return (await proc.exited) === 0;
}

async function waitFor(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await portOpen(port)) return true;
    await Bun.sleep(250);
  }
  return false;
}

let ok = true;

if (await portOpen(5432)) {
  console.log("services: PostgreSQL is up on 127.0.0.1:5432");
} else if (existsSync("/etc/postgresql")) {
  const version = readdirSync("/etc/postgresql")[0];
  console.log(`services: starting PostgreSQL ${version}`);
  await run(["pg_ctlcluster", "--skip-systemctl-redirect", String(version), "main", "start"]);
  if (!(await waitFor(5432, 20_000))) {
    console.error("services: PostgreSQL did not come up; the Postgres half of the suites will be skipped");
  }
} else {
  console.log(
    "services: no PostgreSQL here; suites needing it say so and skip (set TEST_DATABASE_URL to use one)",
  );
}

if (await portOpen(6379)) {
  console.log("services: Redis is up on 127.0.0.1:6379");
} else {
  console.log("services: starting Redis");
  await run([
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  if (!(await waitFor(6379, 10_000))) {
    console.error("services: Redis did not come up (is redis-server installed?)");
    ok = false;
  }
}

// Debian packages the suites drive: Chromium (DevTools, admin browser tests), ffmpeg (screencast video),
// HAProxy (replicas behind a real load balancer).
const chrome = process.env.CHROME_PATH ?? "/usr/bin/chromium";
const packages: { what: string; path: string; pkg: string }[] = [
  { what: "Chromium", path: chrome, pkg: "chromium" },
  { what: "ffmpeg", path: "/usr/bin/ffmpeg", pkg: "ffmpeg" },
  // The load balancer of the replica suites (gateway/test/fixtures/haproxy.ts) and of bench/scale.ts.
  { what: "HAProxy", path: "/usr/sbin/haproxy", pkg: "haproxy" },
];
const missing = packages.filter((p) => !existsSync(p.path));
for (const p of packages) if (existsSync(p.path)) console.log(`services: ${p.what} at ${p.path}`);
if (missing.length > 0 && process.getuid?.() === 0) {
  const names = missing.map((p) => p.pkg);
  console.log(`services: installing ${names.join(", ")} from Debian's packages (apt-get install)`);
  const installed =
    (await run(["apt-get", "update", "-qq"])) && (await run(["apt-get", "install", "-y", "-qq", ...names]));
  for (const p of missing) {
    if (!installed || !existsSync(p.path)) {
      console.error(
        `services: ${p.what} could not be installed (apt-get install ${p.pkg}); its suites will fail`,
      );
      ok = false;
    }
  }
} else {
  for (const p of missing) {
    console.error(`services: no ${p.what} at ${p.path}; install it (apt-get install ${p.pkg})`);
    ok = false;
  }
}

process.exit(ok ? 0 : 1);
