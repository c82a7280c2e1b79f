/**
 * The test command: `bun run test [package-dir ...]`.
 * Ensures the services the suites need (scripts/ensure-services.ts), then runs `bun test` once per
 * workspace package — each in its own process, so one suite's state never leaks into another's —
 * and ends with one line: `tests: N passed, N failed`.
 */
import { Glob } from "bun";

const root = new URL("..", import.meta.url).pathname;
const packages = [
  "contracts",
  "db",
  "servers/kit",
  "servers/linear",
  "servers/perplexity",
  "servers/devtools",
  "gateway",
  "cli",
  "admin",
];

if (process.argv.includes("--help")) {
  console.log(`usage: bun run test [package ...]

Runs every workspace package's tests (default: ${packages.join(", ")}) with real Postgres, Redis and
Chromium, each package in its own bun test process, and prints "tests: N passed, N failed" last.
Environment: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL for tests
(default redis://127.0.0.1:6379), CHROME_PATH (default /usr/bin/chromium), TEST_SUMMARY_FILE (also write
"<passed> <failed>" there).`);
  process.exit(0);
}

const selected = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const targets = selected.length > 0 ? selected : packages;

const ensure = Bun.spawn(["bun", `${root}scripts/ensure-services.ts`], {
  stdout: "inherit",
  stderr: "inherit",
});
if ((await ensure.exited) !== 0)
  console.error("test: some services are missing; the suites that need them will fail");

function hasTests(dir: string): boolean {
  for (const _ of new Glob("**/*.test.ts").scanSync({ cwd: `${root}${dir}`, onlyFiles: true })) {
    if (!_.includes("node_modules")) return true;
  }
  return false;
}

let passed = 0;
let failed = 0;
const failures: string[] = [];

for (const dir of targets) {
  if (!hasTests(dir)) continue;
  console.log(`\n━━ ${dir} ━━`);
  const proc = Bun.spawn(["bun", "test"], {
    cwd: `${root}${dir}`,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  let summary = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const chunk = next.value;
      const text = decoder.decode(chunk, { stream: true });
      summary += text;
      out.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const code = await proc.exited;
  const pass = Number(/^\s*(\d+) pass$/m.exec(summary)?.[1] ?? 0);
  const fail = Number(/^\s*(\d+) fail$/m.exec(summary)?.[1] ?? 0);
  passed += pass;
  // A crashed runner (non-zero exit with no failures counted) is a failure too.
  const counted = code !== 0 && fail === 0 ? 1 : fail;
  failed += counted;
  if (counted > 0) failures.push(`${dir} (${counted})`);
}

if (failures.length > 0) console.log(`\nfailed in: ${failures.join(", ")}`);
if (process.env.TEST_SUMMARY_FILE) await Bun.write(process.env.TEST_SUMMARY_FILE, `${passed} ${failed}\n`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
