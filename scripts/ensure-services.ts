/**
 * Makes sure what the test suites need is here: PostgreSQL and Redis on loopback (started when down)
 * and Chromium (installed from Debian's packages when missing). Idempotent; says what it does.
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

const chrome = process.env.CHROME_PATH ?? "/usr/bin/chromium";
if (existsSync(chrome)) {
  console.log(`services: Chromium at ${chrome}`);
} else if (process.getuid?.() === 0) {
  console.log("services: installing Chromium from Debian's packages (apt-get install chromium)");
  const installed =
    (await run(["apt-get", "update", "-qq"])) && (await run(["apt-get", "install", "-y", "-qq", "chromium"]));
  if (!installed || !existsSync(chrome)) {
    console.error("services: Chromium could not be installed; DevTools suites will fail");
    ok = false;
  }
} else {
  console.error(
    `services: no Chromium at ${chrome}; install it (apt-get install chromium) or set CHROME_PATH`,
  );
  ok = false;
}

process.exit(ok ? 0 : 1);
