/**
 * `bun bench/run.ts` (root script `bun run bench`): runs every bench in `bench/` in turn, each in its own
 * `bun` process, and fails when one fails. A bench is a top-level `bench/*.ts` file other than this
 * runner and the shared helpers below. Extra arguments choose benches by name: `bun bench/run.ts gateway`.
 */
import { basename } from "node:path";

/** Files in bench/ that are not benches. */
const NOT_BENCHES = new Set(["run.ts", "load.ts"]);

const dir = import.meta.dir;
const all = [...new Bun.Glob("*.ts").scanSync({ cwd: dir })]
  .filter((file) => !NOT_BENCHES.has(file) && !file.endsWith(".test.ts"))
  .sort();
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: bun run bench [name ...]

Runs the benches in bench/ (${all.map((f) => basename(f, ".ts")).join(", ")}), each in its own process,
loopback only and bounded in time. Each prints its table; ratios are against a baseline measured in the
same run. bench/gateway.ts reads BENCH_ROUNDS, BENCH_MS, BENCH_MAX, BENCH_TARGETS, BENCH_PROFILE;
bench/devtools.ts (our DevTools server vs chrome-devtools-mcp on one scripted task) reads BENCH_DEVTOOLS_ROUNDS;
bench/sessions.ts (finding a 2025 session: sealed vs stored in Redis; memory per idle session) reads
BENCH_SESSIONS, BENCH_OPS; bench/scale.ts (2 gateway processes behind HAProxy: 10,000 idle sessions, 60 s of
mixed traffic from 200 sessions) reads BENCH_SCALE_SECONDS, BENCH_SCALE_SESSIONS, BENCH_SCALE_IDLE.`);
  process.exit(0);
}
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(`${name.replace(/\.ts$/, "")}.ts`));
if (unknown.length > 0) {
  console.error(
    `Unknown bench ${unknown.join(", ")}; the benches are ${all.map((f) => basename(f, ".ts")).join(", ")}`,
  );
  process.exit(2);
}
const benches = wanted.length > 0 ? all.filter((file) => wanted.includes(basename(file, ".ts"))) : all;

const failed: string[] = [];
for (const [index, file] of benches.entries()) {
  console.log(`\n=== [${index + 1}/${benches.length}] bench/${file} ===`);
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, `${dir}/${file}`], {
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
  });
  const code = await proc.exited;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (code === 0) console.log(`=== bench/${file} done in ${seconds} s ===`);
  else {
    console.log(`=== bench/${file} FAILED (exit ${code}) after ${seconds} s ===`);
    failed.push(file);
  }
}
if (failed.length > 0) {
  console.error(`\n${failed.length} bench(es) failed: ${failed.join(", ")}`);
  process.exit(1);
}
