/**
 * `bun run conformance`: the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
 * gateway devDependencies, run under Bun) against the gateway's /mcp. Starts what it needs on free
 * loopback ports (in-memory PGlite, the real config service, a kit-built fixture server registered only
 * for this run, the gateway in local development mode), runs each era's set, prints the suite's
 * summaries, stops everything, and exits non-zero on any failed check or on a scenario that ran no checks.
 *
 *   bun scripts/conformance.ts [--only <run-name>] [--scenario <name>] [--verbose]
 *
 * `CONFORMANCE_FEDERATED=1` also federates @modelcontextprotocol/server-everything (stdio, a global
 * upstream, prefix `every`), so the suite runs against a gateway whose views include a federated upstream.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_ORG_ID } from "../db/src/seed.ts";
import { conformanceServer } from "../gateway/test/fixtures/conformance-server.ts";
import { modernConformanceServer } from "../gateway/test/fixtures/modern-conformance-server.ts";
import { startStack } from "../gateway/test/fixtures/stack.ts";

const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "gateway/node_modules/@modelcontextprotocol/conformance/dist/index.js");

export interface ConformanceRun {
  name: string;
  args: string[];
}

export const RUNS: ConformanceRun[] = [
  { name: "2025-11-25", args: ["--requirements", "2025-11-25"] },
  { name: "2025-06-18", args: ["--suite", "all", "--spec-version", "2025-06-18"] },
  { name: "2025-03-26", args: ["--suite", "all", "--spec-version", "2025-03-26"] },
  { name: "2026-07-28", args: ["--requirements", "2026-07-28"] },
];

/**
 * Scenarios allowed to run zero scored checks: `server-sse-polling` (pending in the suite) only scores a
 * server that answers the optional `test_reconnection` tool with a resumable SSE stream (SEP-1699); the
 * gateway does not offer stream resumption, so the suite reports it as not applicable.
 */
const MAY_BE_EMPTY = new Set(["server-sse-polling"]);

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

export interface RunOutcome {
  name: string;
  exitCode: number;
  /** Scored checks only (the suite's conformance verdict for the run). */
  passed: number;
  failed: number;
  warnings: number;
  /** Checks of scenarios the suite ran but does not score for this run (extensions, pending, ...). */
  unscored: { passed: number; failed: number };
  scenarios: { scenario: string; passed: number; failed: number; scored: boolean }[];
  problems: string[];
  output: string;
}

function findChecks(dir: string): { scenario: string; checks: Check[] }[] {
  const found: { scenario: string; checks: Check[] }[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry === "checks.json") {
        const scenario = path
          .slice(dir.length + 1)
          .replace(/^server-/, "")
          .replace(/-\d{4}-\d\d-\d\dT.*$/, "");
        found.push({ scenario, checks: JSON.parse(readFileSync(full, "utf8")) as Check[] });
      }
    }
  };
  walk(dir);
  return found;
}

/**
 * The scenarios the suite lists under "Not scored for <revision>" (extensions, pending, added after the
 * release): they run, but "do not affect conformance".
 */
function unscoredScenarios(output: string): Set<string> {
  const names = new Set<string>();
  const start = output.indexOf("Not scored for ");
  if (start < 0) return names;
  for (const line of output.slice(start).split("\n").slice(1)) {
    const match = /^\s+[✓✗]\s+(\S+)\s+\(/.exec(line);
    if (!match?.[1]) break;
    names.add(match[1]);
  }
  return names;
}

/** Runs one suite invocation against `url` (the gateway's /mcp). */
export async function runConformance(
  run: ConformanceRun,
  url: string,
  extra: string[] = [],
): Promise<RunOutcome> {
  const out = mkdtempSync(join(tmpdir(), `omni-conformance-${run.name}-`));
  try {
    const proc = Bun.spawn(["bun", cli, "server", "--url", url, ...run.args, "-o", out, ...extra], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    const results = findChecks(out);
    const notScored = unscoredScenarios(stdout + stderr);
    const unscored = { passed: 0, failed: 0 };
    const problems: string[] = [];
    let passed = 0;
    let failed = 0;
    let warnings = 0;
    const scenarios = results.map(({ scenario, checks }) => {
      const p = checks.filter((c) => c.status === "SUCCESS").length;
      const f = checks.filter((c) => c.status === "FAILURE");
      if (notScored.has(scenario)) {
        unscored.passed += p;
        unscored.failed += f.length;
        return { scenario, passed: p, failed: f.length, scored: false };
      }
      warnings += checks.filter((c) => c.status === "WARNING").length;
      passed += p;
      failed += f.length;
      for (const c of f) problems.push(`${scenario}: ${c.id} failed: ${c.errorMessage ?? ""}`);
      if (p === 0 && f.length === 0 && !MAY_BE_EMPTY.has(scenario))
        problems.push(`${scenario}: ran no scored checks (skipped?)`);
      if (checks.some((c) => c.id.endsWith("-skipped"))) problems.push(`${scenario}: was skipped`);
      return { scenario, passed: p, failed: f.length, scored: true };
    });
    if (results.length === 0) problems.push("no scenario results were written");
    if (exitCode !== 0) problems.push(`the suite exited with code ${exitCode}`);
    return {
      name: run.name,
      exitCode,
      passed,
      failed,
      warnings,
      unscored,
      scenarios,
      problems,
      output: stdout + stderr,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`usage: bun run conformance [--only <era>] [--scenario <name>] [--verbose]

Starts a gateway (fresh database, dev mode) with a test-only fixture server on free ports, runs the
official MCP conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12) against its /mcp for
every era (${RUNS.map((r) => r.name).join(", ")}), prints each summary, stops everything, and exits
non-zero on any failed scored check or a scored scenario that ran no checks.
  --only <era>       run one era's set only
  --scenario <name>  run one scenario (within the era's set; combine with --only)
  --verbose          print the suite's whole output

Environment:
  CONFORMANCE_FEDERATED=1  also federate @modelcontextprotocol/server-everything over stdio (prefix every)`);
    return 0;
  }
  const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined;
  const scenario = argv.includes("--scenario") ? argv[argv.indexOf("--scenario") + 1] : undefined;
  const verbose = argv.includes("--verbose");
  const federated = process.env.CONFORMANCE_FEDERATED === "1";
  const stack = await startStack({
    servers: [conformanceServer, modernConformanceServer],
    ...(federated ? { federation: {} } : {}),
  });
  if (federated) await federateEverything(stack);
  // The suite connects via "localhost" (its DNS-rebinding scenario requires a loopback URL).
  const url = `${stack.url.replace("127.0.0.1", "localhost")}/mcp`;
  console.log(`gateway ${url} (fixture server ${stack.servers.get("conformance")?.url})`);
  let failures = 0;
  try {
    for (const run of RUNS) {
      if (only && run.name !== only) continue;
      const outcome = await runConformance(run, url, scenario ? ["--scenario", scenario] : []);
      const summary = outcome.output.slice(outcome.output.lastIndexOf("=== SUMMARY ==="));
      console.log(`\n##### ${run.name}: ${run.args.join(" ")}`);
      console.log(verbose || summary.length < 10 ? outcome.output : summary.trim());
      console.log(
        `=> ${run.name}: ${outcome.passed} scored checks passed, ${outcome.failed} failed, ${outcome.warnings} warnings, ${outcome.scenarios.filter((s) => s.scored).length} scored scenarios; not scored: ${outcome.unscored.passed} passed, ${outcome.unscored.failed} failed`,
      );
      for (const problem of outcome.problems) console.log(`   ✗ ${problem}`);
      if (outcome.problems.length > 0) failures++;
    }
  } finally {
    await stack.stop();
  }
  console.log(
    failures === 0 ? "\nconformance: every run passed" : `\nconformance: ${failures} run(s) failed`,
  );
  return failures === 0 ? 0 : 1;
}

/** Registers server-everything (stdio, global) and waits until the demo org's view has its tools. */
async function federateEverything(stack: Awaited<ReturnType<typeof startStack>>): Promise<void> {
  const entry = join(root, "gateway/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
  await stack.repos.federation.operatorCreate({
    organizationId: null,
    name: "io.github.modelcontextprotocol/server-everything",
    prefix: "every",
    transport: "stdio",
    command: "node",
    args: [entry, "stdio"],
  });
  await stack.federation?.reload();
  const catalog = await stack.federation?.catalog(DEMO_ORG_ID);
  const tools = catalog?.tools.size ?? 0;
  if (tools === 0) throw new Error("CONFORMANCE_FEDERATED: server-everything did not connect");
  console.log(`federated upstream: server-everything over stdio (${tools} tools as every_*)`);
}

if (import.meta.main) process.exit(await main());
