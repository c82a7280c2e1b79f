import { afterAll, beforeAll, expect, test } from "bun:test";
import { RUNS, runConformance } from "../../scripts/conformance.ts";
import { conformanceServer } from "./fixtures/conformance-server.ts";
import { modernConformanceServer } from "./fixtures/modern-conformance-server.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * The official MCP conformance suite through the gateway (client → gateway → RPC → kit fixture server),
 * once per run of `bun run conformance` (each era): every scored check passes and every scored scenario
 * ran checks (scenarios the suite does not score for the era, e.g. extensions, are counted apart).
 */
let stack: Stack;
let url: string;

beforeAll(async () => {
  stack = await startStack({ servers: [conformanceServer, modernConformanceServer] });
  url = `${stack.url.replace("127.0.0.1", "localhost")}/mcp`;
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

for (const run of RUNS) {
  test(`conformance ${run.name} (${run.args.join(" ")})`, async () => {
    const outcome = await runConformance(run, url);
    if (outcome.problems.length > 0) console.log(`${run.name}:\n  ${outcome.problems.join("\n  ")}`);
    expect(outcome.problems).toEqual([]);
    expect(outcome.failed).toBe(0);
    expect(outcome.passed).toBeGreaterThan(0);
    // The session scenarios really ran (a stateless answer would make them skip with zero checks);
    // 2026-07-28 has no sessions, and its stateless scenario must run instead.
    const must = run.name === "2026-07-28" ? "server-stateless" : "server-session-lifecycle";
    expect(outcome.scenarios.find((s) => s.scenario === must)?.passed).toBeGreaterThan(0);
  }, 300_000);
}
