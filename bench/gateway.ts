/**
 * `bun bench/gateway.ts`: tools/call of a cheap echo tool at concurrency 1 and 16 through
 *   - the gateway's `/mcp`, 2025 path (initialize once, `mcp-session-id`, JSON-RPC over SSE/JSON),
 *   - the gateway's `/mcp`, modern 2026-07-28 stateless path (`_meta` protocol version, no session),
 *   - the domain server's own `/mcp` (the kit's standalone SDK endpoint, one session),
 *   - the kit RPC hop alone: `POST /rpc/tools/call` on the domain server, and the call socket (`GET
 *     /rpc/socket`, the gateway's upstream call: `createServerClient` as the gateway uses it),
 *   - a bare `Bun.serve` JSON-RPC responder (the ceiling of one HTTP hop on this machine),
 *   - two peers from npm fronting the same echo server over stdio (2025 sessions): supergateway 4.0.0
 *     (`--stateful`; without it, it spawns a process per request) and mcp-proxy 6.7.19 (both on Node),
 * alternated A B C D E per round over several rounds; prints req/s, p50 and p99 (medians of the rounds)
 * and each as a ratio to the ceiling, plus the CPU time the servers under test spent per request
 * (from /proc; less sensitive than req/s to other load on a shared machine): every process serving the
 * target (gateway and domain server; a peer and its stdio child) and, for the gateway targets, the
 * gateway process alone.
 *
 * The echo tool is `modern_echo` of the gateway tests' kit-built server (gateway/test/fixtures).
 *
 * Every server under test runs in its own process (this file re-spawned with a role), so the load
 * generator does not share an event loop with any of them. Loopback only, bounded in time and count:
 * BENCH_ROUNDS (default 5) rounds of BENCH_MS (default 1500 ms) per target and concurrency, at most
 * BENCH_MAX (default 1000000) requests per run. BENCH_TARGETS picks targets (default
 * `ceiling,rpc,socket,direct,session,modern,supergateway,mcp-proxy`; `session-http` adds the 2025 path through a
 * second gateway whose upstream calls take the HTTP route instead of the call socket, for A/B runs).
 * BENCH_PROFILE=1 starts the gateway and the domain server
 * with `--cpu-prof` (profiles are written to $TMPDIR/omni-bench-profiles/), sampling every
 * BENCH_PROFILE_INTERVAL µs (default 1000).
 */
import { tmpdir } from "node:os";
import type { ToolCallRequest } from "../contracts/src/index.ts";
import { createTestDatabase, DEMO_ORG_ID } from "../db/src/index.ts";
import { modernServer } from "../gateway/test/fixtures/modern-server.ts";
import {
  enableForDemoOrg,
  serveQuietly,
  startReplica,
  TEST_INTERNAL_TOKEN,
} from "../gateway/test/fixtures/replicas.ts";
import { createServerClient, runStdio } from "../servers/kit/src/index.ts";
import { type LoadResult, type LoadTarget, printTable, runLoad, summarize } from "./load.ts";

// The gateway tests' kit-built server; `modern_echo` answers `echo: <text>`.
const SERVER = modernServer.name;
const TOOL = "modern_echo";
const TEXT = "hello";
const MODERN = "2026-07-28";
const ROLE_FLAG = "--role=";
const TARGET_KEYS = [
  "ceiling",
  "rpc",
  "socket",
  "direct",
  "session",
  "modern",
  "session-http",
  "supergateway",
  "mcp-proxy",
] as const;
/** Targets measured only when BENCH_TARGETS names them. */
const OPTIONAL_TARGETS: readonly TargetKey[] = ["session-http"];
const PEERS = ["supergateway", "mcp-proxy"] as const;
type Peer = (typeof PEERS)[number];
const root = new URL("..", import.meta.url).pathname;
type TargetKey = (typeof TARGET_KEYS)[number];

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Tells the parent process where this role listens. */
function ready(url: string): void {
  console.log(`READY ${url}`);
}

/** The ceiling: parse the JSON-RPC request, answer a tools/call-shaped result. Nothing else. */
function serveCeiling(): void {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const body = (await request.json()) as { id?: unknown; params?: { arguments?: { text?: unknown } } };
      return Response.json({
        jsonrpc: "2.0",
        id: body.id ?? null,
        result: { content: [{ type: "text", text: `echo: ${String(body.params?.arguments?.text ?? "")}` }] },
      });
    },
  });
  ready(`http://127.0.0.1:${server.port}`);
}

function serveDomain(): void {
  ready(serveQuietly(modernServer, { mcp: true }).url);
}

async function serveGateway(domainUrl: string, callSocket: boolean): Promise<void> {
  const database = await createTestDatabase("pglite", { seed: true });
  if (!database) throw new Error("PGlite is unavailable");
  await enableForDemoOrg(database.db, SERVER);
  const gateway = await startReplica({
    db: database.db,
    instances: [{ server: SERVER, url: domainUrl }],
    healthIntervalMs: 5_000,
    callSocket,
  });
  // Exit on SIGTERM (so `--cpu-prof` writes its profile).
  process.on("SIGTERM", () => process.exit(0));
  ready(gateway.url);
}

/** A free loopback port (the peers take a port number, not 0). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** A peer proxy (on Node, from node_modules/.bin) fronting the echo server over stdio. */
async function spawnPeer(peer: Peer): Promise<Child> {
  const port = freePort();
  const stdio = [process.execPath, import.meta.path, `${ROLE_FLAG}stdio`];
  const bin = `${root}node_modules/.bin/${peer}`;
  const cmd =
    peer === "supergateway"
      ? [
          "node",
          bin,
          "--stdio",
          stdio.join(" "),
          "--outputTransport",
          "streamableHttp",
          "--stateful",
          "--port",
          String(port),
          "--logLevel",
          "none",
        ]
      : ["node", bin, "--host", "127.0.0.1", "--port", String(port), "--server", "stream", "--", ...stdio];
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  // Node starts slowly on a loaded machine: wait up to a minute for the port.
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const up = await fetch(`${url}/mcp`, { method: "GET" }).then(
      () => true,
      () => false,
    );
    if (up) return { url, proc };
    await Bun.sleep(50);
  }
  proc.kill();
  throw new Error(`${peer} did not listen on ${url}`);
}

// ---------------------------------------------------------------------------------------------------
// The load-generating parent.

interface Child {
  url: string;
  proc: Bun.Subprocess<"ignore", "pipe", "inherit" | "ignore">;
}

/** Outside the working tree: profiles are large and not source. */
const profileDir = `${tmpdir()}/omni-bench-profiles`;

async function spawnRole(role: string, args: string[] = []): Promise<Child> {
  const profile = process.env.BENCH_PROFILE === "1" && (role === "gateway" || role === "domain");
  const cmd = [
    process.execPath,
    ...(profile
      ? [
          "--cpu-prof",
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${role}.cpuprofile`,
          `--cpu-prof-interval=${intEnv("BENCH_PROFILE_INTERVAL", 1000)}`,
        ]
      : []),
    import.meta.path,
    `${ROLE_FLAG}${role}`,
    ...args,
  ];
  // The internal token travels in the environment (set by the fixtures at import).
  const proc = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env },
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const timeout = setTimeout(() => proc.kill(), 60_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${role} exited before listening: ${seen}`);
      seen += decoder.decode(value, { stream: true });
      const match = /READY (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (match?.[1]) return { url: match[1], proc };
    }
  } finally {
    clearTimeout(timeout);
    reader.releaseLock();
    void proc.stdout.cancel().catch(() => {});
  }
}

let rpcId = 0;
const callBody = (meta?: Record<string, unknown>) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: ++rpcId,
    method: "tools/call",
    params: { name: TOOL, arguments: { text: TEXT }, ...(meta ? { _meta: meta } : {}) },
  });

/** A right answer: HTTP 200, a JSON-RPC result carrying the echoed text, not an error. */
let lastWrong = "";
async function answered(response: Response): Promise<boolean> {
  const text = await response.text();
  lastWrong = `HTTP ${response.status}: ${text.slice(0, 300)}`;
  return (
    response.status === 200 &&
    text.includes('"result"') &&
    text.includes(`"text":"echo: ${TEXT}"`) &&
    !text.includes('"isError":true')
  );
}

const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A 2025 session: initialize once, then every call carries the session id. */
async function sessionTarget(label: string, mcpUrl: string): Promise<LoadTarget> {
  const init = await fetch(mcpUrl, {
    method: "POST",
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    }),
  });
  const session = init.headers.get("mcp-session-id");
  await init.text();
  if (!init.ok || !session) throw new Error(`${label}: initialize failed with HTTP ${init.status}`);
  const headers = { ...MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
  const initialized = await fetch(mcpUrl, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.text();
  return {
    label,
    send: async () => answered(await fetch(mcpUrl, { method: "POST", headers, body: callBody() })),
  };
}

function modernTarget(label: string, mcpUrl: string): LoadTarget {
  const headers = {
    ...MCP_HEADERS,
    "mcp-protocol-version": MODERN,
    "mcp-method": "tools/call",
    "mcp-name": TOOL,
  };
  const meta = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
  };
  return {
    label,
    send: async () => answered(await fetch(mcpUrl, { method: "POST", headers, body: callBody(meta) })),
  };
}

/** Clients the run opened (closed at its end). */
const closers: (() => void)[] = [];

/** The gateway's hop alone over the call socket: `createServerClient`'s `callTool`, as the gateway calls. */
async function socketTarget(label: string, domainUrl: string): Promise<LoadTarget> {
  const client = createServerClient(domainUrl, { internalToken: TEST_INTERNAL_TOKEN });
  closers.push(() => client.close());
  if (!(await client.callSocketReady())) throw new Error(`${label}: the call socket did not open`);
  return {
    label,
    send: async () => {
      const event = await client.callTool(rpcBody());
      const first = event.type === "result" ? event.result.content[0] : undefined;
      lastWrong = JSON.stringify(event).slice(0, 300);
      return (
        first?.type === "text" &&
        first.text === `echo: ${TEXT}` &&
        event.type === "result" &&
        !event.result.isError
      );
    },
  };
}

/** A tool call as the gateway sends it to the domain server. */
function rpcBody(): ToolCallRequest {
  return {
    name: TOOL,
    arguments: { text: TEXT },
    live: false,
    scope: {
      org: {
        orgId: DEMO_ORG_ID,
        userId: null,
        role: "owner",
        permissions: [],
        via: "dev",
        requestId: crypto.randomUUID(),
      },
      config: { settings: {}, credentials: {} },
      sessionKey: "bench",
    },
  };
}

/** The gateway's hop alone over HTTP: the kit RPC `POST /rpc/tools/call` (`UPSTREAM_CALL_SOCKET=0`). */
function rpcTarget(label: string, domainUrl: string): LoadTarget {
  const url = `${domainUrl}/rpc/tools/call`;
  // The deployment token every role of this run shares (set in the environment the roles inherit).
  const headers = { "content-type": "application/json", authorization: `Bearer ${TEST_INTERNAL_TOKEN}` };
  return {
    label,
    send: async () =>
      answered(await fetch(url, { method: "POST", headers, body: JSON.stringify(rpcBody()) })),
  };
}

function ceilingTarget(label: string, url: string): LoadTarget {
  const headers = { "content-type": "application/json" };
  return {
    label,
    send: async () => answered(await fetch(url, { method: "POST", headers, body: callBody() })),
  };
}

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of processes so far (Linux /proc; undefined elsewhere). */
async function cpuSeconds(pids: number[]): Promise<number | undefined> {
  let ticks = 0;
  for (const pid of pids) {
    const stat = await Bun.file(`/proc/${pid}/stat`)
      .text()
      .catch(() => "");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    ticks += utime + stime;
  }
  return ticks / TICKS_PER_SECOND;
}

/** A process and its children (a peer and the stdio server it spawned). */
async function withChildren(pid: number): Promise<number[]> {
  const text = await Bun.file(`/proc/${pid}/task/${pid}/children`)
    .text()
    .catch(() => "");
  return [pid, ...text.split(" ").filter(Boolean).map(Number)];
}

async function loadAverage(): Promise<string> {
  const text = await Bun.file("/proc/loadavg")
    .text()
    .catch(() => "");
  return text.split(" ").slice(0, 3).join(" ") || "unknown";
}

async function main(): Promise<void> {
  const rounds = intEnv("BENCH_ROUNDS", 5);
  const durationMs = intEnv("BENCH_MS", 1500);
  const maxTotal = intEnv("BENCH_MAX", 1_000_000);
  const concurrencies = [1, 16];
  const chosen = (
    process.env.BENCH_TARGETS ?? TARGET_KEYS.filter((key) => !OPTIONAL_TARGETS.includes(key)).join(",")
  )
    .split(",")
    .map((t) => t.trim());
  const unknown = chosen.filter((t) => !(TARGET_KEYS as readonly string[]).includes(t));
  if (unknown.length > 0)
    throw new Error(`BENCH_TARGETS: unknown ${unknown.join(", ")}; use ${TARGET_KEYS.join(",")}`);
  console.log(`bench/gateway: load average ${await loadAverage()} (2 cores shared; numbers are noisy)`);
  console.log("starting the ceiling, the domain server and the gateway in their own processes ...");
  const children: Child[] = [];
  try {
    const ceiling = await spawnRole("ceiling");
    children.push(ceiling);
    const domain = await spawnRole("domain");
    children.push(domain);
    const gateway = await spawnRole("gateway", [domain.url]);
    children.push(gateway);
    // The same gateway with its upstream calls on the HTTP route (UPSTREAM_CALL_SOCKET=0), for A/B runs.
    const gatewayHttp = chosen.includes("session-http")
      ? await spawnRole("gateway", [domain.url, "--upstream=http"])
      : undefined;
    if (gatewayHttp) children.push(gatewayHttp);
    const gatewayPids = new Set([gateway.proc.pid, ...(gatewayHttp ? [gatewayHttp.proc.pid] : [])]);
    const peers = {} as Record<Peer, Child>;
    for (const peer of PEERS) {
      if (!chosen.includes(peer)) continue;
      peers[peer] = await spawnPeer(peer);
      children.push(peers[peer]);
    }

    const all: Record<TargetKey, () => Promise<LoadTarget> | LoadTarget> = {
      ceiling: () => ceilingTarget("bare Bun.serve (ceiling)", ceiling.url),
      rpc: () => rpcTarget("domain kit RPC hop (HTTP)", domain.url),
      socket: () => socketTarget("domain kit call socket hop", domain.url),
      direct: () => sessionTarget("domain /mcp direct (SDK)", `${domain.url}/mcp`),
      session: () => sessionTarget("gateway /mcp 2025 session", `${gateway.url}/mcp`),
      modern: () => modernTarget("gateway /mcp 2026-07-28", `${gateway.url}/mcp`),
      "session-http": () =>
        sessionTarget("gateway /mcp 2025, HTTP upstream", `${(gatewayHttp as Child).url}/mcp`),
      supergateway: () => sessionTarget("supergateway --stateful", `${peers.supergateway.url}/mcp`),
      "mcp-proxy": () => sessionTarget("mcp-proxy", `${peers["mcp-proxy"].url}/mcp`),
    };
    const targets: LoadTarget[] = [];
    const pidsOf: Record<TargetKey, number[]> = {
      ceiling: [ceiling.proc.pid],
      rpc: [domain.proc.pid],
      socket: [domain.proc.pid],
      direct: [domain.proc.pid],
      session: [gateway.proc.pid, domain.proc.pid],
      modern: [gateway.proc.pid, domain.proc.pid],
      "session-http": gatewayHttp ? [gatewayHttp.proc.pid, domain.proc.pid] : [],
      // The peer and its stdio child (the echo server) are measured together.
      supergateway: peers.supergateway ? await withChildren(peers.supergateway.proc.pid) : [],
      "mcp-proxy": peers["mcp-proxy"] ? await withChildren(peers["mcp-proxy"].proc.pid) : [],
    };
    const serverPids = new Map<string, number[]>();
    for (const key of TARGET_KEYS) {
      if (!chosen.includes(key)) continue;
      const target = await all[key]();
      targets.push(target);
      serverPids.set(target.label, pidsOf[key]);
    }
    for (const target of targets) {
      if (!(await target.send())) {
        throw new Error(`${target.label}: the first call got a wrong answer (${lastWrong})`);
      }
    }
    const perRun = Math.max(1, Math.floor(maxTotal / (rounds * concurrencies.length * targets.length)));
    console.log(
      `${rounds} rounds x ${concurrencies.length} concurrencies x ${targets.length} targets, ${durationMs} ms each (≤ ${perRun} requests)`,
    );
    // Warm-up: JIT, connection pools, config cache.
    for (const target of targets)
      await runLoad(target, { concurrency: 16, durationMs: 500, maxRequests: 5_000 });

    const results = new Map<string, LoadResult[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const concurrency of concurrencies) {
        for (const target of targets) {
          const pids = serverPids.get(target.label) ?? [];
          const viaGateway = pids.find((pid) => gatewayPids.has(pid));
          const cpuBefore = await cpuSeconds(pids);
          const gatewayBefore = viaGateway ? await cpuSeconds([viaGateway]) : undefined;
          const result = await runLoad(target, { concurrency, durationMs, maxRequests: perRun });
          const cpuAfter = await cpuSeconds(pids);
          const gatewayAfter = viaGateway ? await cpuSeconds([viaGateway]) : undefined;
          const perRequest = (before: number | undefined, after: number | undefined) =>
            before !== undefined && after !== undefined && result.requests > 0
              ? ((after - before) * 1e6) / result.requests
              : undefined;
          const serverCpuUs = perRequest(cpuBefore, cpuAfter);
          const gatewayCpuUs = perRequest(gatewayBefore, gatewayAfter);
          if (serverCpuUs !== undefined) result.serverCpuUs = serverCpuUs;
          if (gatewayCpuUs !== undefined) result.gatewayCpuUs = gatewayCpuUs;
          const key = `${target.label}\u0000${concurrency}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          console.log(
            `  round ${round}/${rounds} c=${String(concurrency).padStart(2)} ${target.label.padEnd(28)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(3)} ms  p99 ${result.p99.toFixed(3)} ms${result.errors ? `  ${result.errors} errors` : ""}`,
          );
        }
      }
    }

    const rows: LoadResult[] = [];
    for (const concurrency of concurrencies) {
      for (const target of targets)
        rows.push(summarize(results.get(`${target.label}\u0000${concurrency}`) ?? []));
    }
    const ceilingLabel = chosen.includes("ceiling") ? targets[0]?.label : undefined;
    const ceilingRows = new Map(rows.filter((r) => r.label === ceilingLabel).map((r) => [r.concurrency, r]));
    console.log(`\nmedian of ${rounds} rounds; load average now ${await loadAverage()}\n`);
    printTable(rows, ceilingRows);

    const find = (label: string | undefined, c: number) =>
      rows.find((r) => r.label === label && r.concurrency === c);
    const ceiling16 = ceilingRows.get(16);
    const direct1 = find("domain /mcp direct (SDK)", 1);
    console.log("");
    const peerRows = PEERS.map((peer) =>
      find(peer === "supergateway" ? "supergateway --stateful" : peer, 16),
    );
    for (const target of targets.filter((t) => t.label.startsWith("gateway"))) {
      const at16 = find(target.label, 16);
      const at1 = find(target.label, 1);
      if (!at16 || !at1) continue;
      const parts: string[] = [];
      if (ceiling16) {
        const share = at16.rps / ceiling16.rps;
        parts.push(
          `${(share * 100).toFixed(1)}% of the ceiling at c=16 (target ≥ 35%: ${share >= 0.35 ? "met" : "NOT met"})`,
        );
      }
      if (direct1) {
        const added = at1.p50 - direct1.p50;
        parts.push(
          `p50 added over the direct call at c=1 ${added.toFixed(3)} ms (target < 0.15 ms: ${added < 0.15 ? "met" : "NOT met"})`,
        );
      }
      for (const peer of peerRows) {
        if (!peer) continue;
        const ratio = at16.rps / peer.rps;
        parts.push(
          `${ratio.toFixed(1)}x ${peer.label} at c=16 (target ≥ 6x: ${ratio >= 6 ? "met" : "NOT met"})`,
        );
      }
      console.log(`${target.label}: ${parts.join("; ")}`);
    }
  } finally {
    for (const close of closers) close();
    for (const child of children) child.proc.kill("SIGTERM");
    await Promise.all(children.map((child) => child.proc.exited));
  }
}

const role = process.argv.find((arg) => arg.startsWith(ROLE_FLAG))?.slice(ROLE_FLAG.length);
if (role === "ceiling") serveCeiling();
else if (role === "stdio") await runStdio(modernServer);
else if (role === "domain") serveDomain();
else if (role === "gateway") {
  const domainUrl = process.argv.find((arg) => arg.startsWith("http://"));
  if (!domainUrl?.startsWith("http://127.0.0.1:")) throw new Error("gateway role needs the domain URL");
  await serveGateway(domainUrl, !process.argv.includes("--upstream=http"));
} else await main();
