import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PERMISSIONS } from "@omni/contracts";
import { createRepositories } from "@omni/db";
import fc from "fast-check";
import { createApiKey } from "../src/auth/api-keys.ts";
import {
  type GatewayProcess,
  type ProcessWorld,
  startGatewayProcess,
  startProcessWorld,
} from "./fixtures/process.ts";
import { alphaServer } from "./fixtures/test-servers.ts";

/**
 * Property-based fuzzing (fast-check) of two real gateway processes on Postgres + Redis: headers, URLs,
 * JSON-RPC envelopes, every MCP method's params, every admin API route's body and tool arguments. Every
 * answer is below 500 (or a deliberate 503), leaks nothing internal (SQL, parameters, file paths, stack
 * frames, runtime hints), both processes stay up, and a valid call succeeds after each property.
 *
 * Bounded for CI (FUZZ_RUNS runs per property, default 30: well under two minutes); set FUZZ_RUNS=1000
 * (and FUZZ_SEED to replay a failure) for a longer campaign.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const SEED = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) };
const LEAK =
  /\bselect\s+[\w"*].{0,200}\bfrom\s|\binsert\s+into\b|\bdelete\s+from\b|\$\d+\b.{0,40}\bparams?\b|node_modules|\/work\/|\/home\/|[\w-]+\.ts:\d+|\n\s+at\s|verbose: true|postgres(ql)?:\/\//i;

let world: ProcessWorld;
let fuzzKey = "";
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  world = await startProcessWorld(alphaServer);
  // Admin fuzzing writes with another org's key, so the org of the "valid call" keeps its configuration.
  const repos = createRepositories(world.db.db);
  const other = await repos.organizations.create({
    slug: `fuzz-${crypto.randomUUID().slice(0, 8)}`,
    name: "F",
  });
  fuzzKey = (await createApiKey(repos, other.id, null, { name: "fuzz", scopes: [...PERMISSIONS] })).secret;
  const env = {
    ...world.env,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_PREFIX: `fuzz-${crypto.randomUUID().slice(0, 8)}:`,
    RATE_LIMIT_PER_KEY: "0",
    RATE_LIMIT_PER_ORG: "0",
    LOG_LEVEL: "error",
  };
  gateways.push(...(await Promise.all([startGatewayProcess(env), startGatewayProcess(env)])));
}, 90_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await world?.close();
}, 30_000);

let turn = 0;
/** Requests actually answered since the last `expectHealthy` (the client refuses some values itself). */
let answered = 0;
/** Alternates between the two processes. */
const target = () => gateways[turn++ % gateways.length]!;

/** One request; a value the client itself refuses to send (e.g. a header it deems invalid) is skipped. */
async function send(path: string, init: RequestInit): Promise<{ status: number; text: string } | null> {
  let res: Response;
  try {
    res = await fetch(`${target().url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    if (error instanceof TypeError) return null; // refused by the client before sending
    throw error;
  }
  answered++;
  const text = res.headers.get("content-type")?.includes("text/event-stream")
    ? await readFirstEvent(res)
    : await res.text();
  return { status: res.status, text };
}

/** An SSE answer up to its first data line (a stream may stay open: `subscriptions/listen`). */
async function readFirstEvent(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  let text = "";
  const decoder = new TextDecoder();
  try {
    while (!/\ndata: .*\n/.test(`\n${text}`) && text.length < 1_000_000) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

function expectSafe(label: string, answer: { status: number; text: string } | null): void {
  if (answer === null) return;
  if (answer.status >= 500 && answer.status !== 503) {
    throw new Error(`${label}: HTTP ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
  const leak = LEAK.exec(answer.text);
  if (leak) throw new Error(`${label}: leaks ${JSON.stringify(leak[0])} in ${answer.text.slice(0, 500)}`);
}

const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
};

function mcpInit(body: string, extra: Record<string, string> = {}, key = world.ownerKey): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${key}`,
      "mcp-protocol-version": "2026-07-28",
      ...extra,
    },
    body,
  };
}

/** After each property: both processes live and a real tool call succeeds on each. */
async function expectHealthy(): Promise<void> {
  // Most generated requests reached a gateway (not refused by the client), so the property tested something.
  expect(answered).toBeGreaterThanOrEqual(Math.ceil(RUNS / 2));
  answered = 0;
  for (const gateway of gateways) {
    expect(gateway.alive()).toBe(true);
    const res = await fetch(
      `${gateway.url}/mcp`,
      mcpInit(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { _meta: META, name: "alpha_echo", arguments: { text: "still fine" } },
        }),
        { "mcp-method": "tools/call", "mcp-name": "alpha_echo" },
      ),
    );
    expect(await res.text()).toContain("alpha says still fine");
  }
}

// ---- arbitraries ----------------------------------------------------------------------------------

/** Text with the characters that break things: NUL, controls, quotes, escapes, surrogates, `%`. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "%00",
    "__proto__",
    "constructor",
    "../../etc/passwd",
    "\ud800",
    "'; DROP TABLE users; --",
    "{{who}}",
    "x".repeat(5000),
    "",
    " ",
    "null",
    "[]",
    "{}",
  ),
);
const json = fc.jsonValue({ maxDepth: 6 });
/** Nested arrays as JSON text, past the depth limit (64) and far beyond. */
const deepText = fc.integer({ min: 60, max: 20_000 }).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`);
/** A body: JSON of any shape, nasty text, or nesting deeper than any parser should follow. */
const bodyText = fc.oneof(
  json.map((j) => JSON.stringify(j)),
  nasty,
  deepText,
);
const value = fc.oneof(json, nasty, fc.constant(null), fc.integer(), fc.double(), fc.boolean());
const params = fc.dictionary(fc.oneof(nasty, fc.constantFrom("name", "arguments", "uri", "cursor")), value, {
  maxKeys: 6,
});

const MCP_METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "logging/setLevel",
  "server/discover",
  "subscriptions/listen",
  "tasks/get",
  "tasks/list",
  "tasks/update",
  "tasks/cancel",
  "notifications/initialized",
  "notifications/cancelled",
  "constructor",
  "__proto__",
  "toString",
];

const ADMIN_ROUTES: [string, string][] = [
  ["GET", "/api/prompts"],
  ["POST", "/api/prompts"],
  ["POST", "/api/prompts/preview"],
  ["PATCH", "/api/prompts/:id"],
  ["DELETE", "/api/prompts/:id"],
  ["PUT", "/api/prompts/defaults/:server/:name"],
  ["DELETE", "/api/prompts/defaults/:server/:name"],
  ["POST", "/api/prompts/defaults/:server/:name/disable"],
  ["POST", "/api/prompts/defaults/:server/:name/enable"],
  ["GET", "/api/resources"],
  ["POST", "/api/resources"],
  ["PUT", "/api/resources/override"],
  ["POST", "/api/resources/disable"],
  ["POST", "/api/resources/enable"],
  ["PATCH", "/api/resources/:id"],
  ["DELETE", "/api/resources/:id"],
  ["GET", "/api/services"],
  ["PATCH", "/api/services/:server"],
  ["PUT", "/api/services/:server/secrets/:name"],
  ["DELETE", "/api/services/:server/secrets/:name"],
  ["PUT", "/api/services/:server/credentials/:name"],
  ["DELETE", "/api/services/:server/credentials/:name"],
  ["GET", "/api/keys"],
  ["POST", "/api/keys"],
  ["DELETE", "/api/keys/:id"],
  ["GET", "/api/members"],
  ["PATCH", "/api/members/:id"],
  ["DELETE", "/api/members/:id"],
  ["GET", "/api/audit"],
  ["GET", "/api/audit/verify"],
  ["GET", "/api/browser-contexts"],
  ["DELETE", "/api/browser-contexts/:id"],
];

/** Admin DTOs that pass their schemas, carrying nasty text into the database (NUL, quotes, huge). */
const storable = fc.oneof(
  fc.record({
    name: fc.constantFrom("fuzz_prompt", "fuzz.other"),
    description: nasty,
    title: nasty,
    messages: fc.array(fc.record({ role: fc.constantFrom("user", "assistant"), text: nasty }), {
      minLength: 1,
      maxLength: 2,
    }),
  }),
  fc.record({ uri: fc.constantFrom("fuzz://a", "fuzz://b"), name: nasty, text: nasty, description: nasty }),
  fc.record({ value: nasty }),
  fc.record({ settings: fc.dictionary(fc.constantFrom("teamId", "a", "__proto__"), value, { maxKeys: 3 }) }),
  fc.record({ name: nasty, scopes: fc.constant(["tools:call"]) }),
);

/** A body shaped like the admin DTOs (the fields they read) with fuzzed values, or anything at all. */
const adminBody = fc.oneof(
  storable,
  json,
  fc.record(
    {
      name: value,
      title: value,
      description: value,
      messages: fc.oneof(
        value,
        fc.array(fc.record({ role: value, text: value, content: value }), { maxLength: 3 }),
      ),
      arguments: value,
      uri: value,
      text: value,
      mimeType: value,
      enabled: value,
      settings: fc.oneof(value, fc.dictionary(nasty, value, { maxKeys: 4 })),
      value: value,
      scopes: fc.oneof(value, fc.array(fc.oneof(nasty, fc.constantFrom(...PERMISSIONS)), { maxLength: 4 })),
      expiresAt: value,
      role: fc.oneof(value, fc.constantFrom("owner", "admin", "member")),
      template: value,
    },
    { requiredKeys: [] },
  ),
);

const segment = fc.oneof(
  fc.constantFrom("alpha", "x", "apiKey", "key_0", "mem_0", "..", "%2e%2e", "%00", "%ff", "%", "a%2Fb"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);

// ---- properties -----------------------------------------------------------------------------------

describe("fuzz: the gateway never exits, never 5xx (but a deliberate 503), never leaks", () => {
  test("headers", async () => {
    const headerName = fc.constantFrom(
      "host",
      "origin",
      "authorization",
      "x-api-key",
      "x-request-id",
      "content-type",
      "content-length",
      "accept",
      "mcp-session-id",
      "mcp-protocol-version",
      "mcp-method",
      "mcp-name",
      "last-event-id",
      "upgrade",
      "sec-websocket-protocol",
      "transfer-encoding",
    );
    const headerValue = fc.oneof(
      nasty,
      fc.constantFrom(
        "localhost:abc",
        "127.0.0.1:99999",
        "[::1].evil",
        "Bearer omni_sk_x",
        "Bearer ",
        "application/json",
        "2026-07-28",
        "websocket",
        "-1",
        "99999999999999999999",
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/health", "/ready", "/mcp", "/ws", "/api/keys", "/api/prompts", "/nope"),
        fc.constantFrom("GET", "POST", "DELETE", "OPTIONS", "PUT"),
        fc.dictionary(headerName, headerValue, { maxKeys: 5 }),
        fc.option(
          fc.constantFrom("localhost:abc", "127.0.0.1:99999", "[::1].evil", "localhost", "evil.example"),
          {
            nil: undefined,
          },
        ),
        fc.option(bodyText, { nil: undefined }),
        async (path, method, fuzzed, host, body) => {
          const headers = host === undefined ? fuzzed : { ...fuzzed, host };
          const init: RequestInit = { method, headers };
          if (body !== undefined && method !== "GET") init.body = body;
          expectSafe(`${method} ${path} ${JSON.stringify(headers)}`, await send(path, init));
        },
      ),
      { numRuns: RUNS, ...SEED },
    );
    await expectHealthy();
  }, 120_000);

  test("URLs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "DELETE", "POST", "PATCH"),
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        fc.dictionary(fc.string({ maxLength: 8 }).map(encodeURIComponent), segment, { maxKeys: 3 }),
        fc.constantFrom("/api", "/mcp", "/mcp/o", "/ws/o", "", "/.well-known/oauth-protected-resource"),
        async (method, segments, query, prefix) => {
          const search = new URLSearchParams(query).toString();
          const path = `${prefix}/${segments.join("/")}${search ? `?${search}` : ""}`;
          const init: RequestInit = { method, headers: { authorization: `Bearer ${fuzzKey}` } };
          if (method === "POST" || method === "PATCH") {
            init.body = "{}";
            init.headers = { ...init.headers, "content-type": "application/json" };
          }
          expectSafe(`${method} ${path}`, await send(path, init));
        },
      ),
      { numRuns: RUNS, ...SEED },
    );
    await expectHealthy();
  }, 120_000);

  test("JSON-RPC envelopes (stateless and on a 2025 session)", async () => {
    const init = await fetch(`${gateways[0]!.url}/mcp`, {
      ...mcpInit(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 0,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "fuzz", version: "1" },
          },
        }),
      ),
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${world.ownerKey}`,
      },
    });
    const session = init.headers.get("mcp-session-id") ?? "";
    expect(session).not.toBe("");
    const envelope = fc.oneof(
      json,
      fc.record(
        {
          jsonrpc: fc.oneof(fc.constant("2.0"), value),
          id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), value),
          method: fc.oneof(fc.constantFrom(...MCP_METHODS), nasty),
          params: fc.oneof(params, value),
          result: value,
          error: value,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          envelope,
          fc.array(envelope, { maxLength: 4 }),
          deepText.map((text): unknown => JSON.parse(text)),
        ),
        fc.boolean(),
        async (body, modern) => {
          const headers: Record<string, string> = modern
            ? { "mcp-protocol-version": "2026-07-28" }
            : { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
          // The session lives on the first process (2025 sessions are per replica).
          const res = await fetch(
            `${gateways[modern ? turn++ % 2 : 0]!.url}/mcp`,
            mcpInit(JSON.stringify(body), headers),
          );
          const text = res.headers.get("content-type")?.includes("text/event-stream")
            ? await readFirstEvent(res)
            : await res.text();
          answered++;
          expectSafe(`envelope ${JSON.stringify(body).slice(0, 300)}`, { status: res.status, text });
        },
      ),
      { numRuns: RUNS, ...SEED },
    );
    await expectHealthy();
  }, 120_000);

  test("every MCP method's params", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MCP_METHODS),
        params,
        fc.option(nasty, { nil: undefined }),
        async (method, p, name) => {
          const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method, params: { _meta: META, ...p } });
          const extra: Record<string, string> = { "mcp-method": method };
          if (name !== undefined && /^[\x20-\x7e]*$/.test(name)) extra["mcp-name"] = name;
          expectSafe(`${method} ${body.slice(0, 300)}`, await send("/mcp", mcpInit(body, extra)));
        },
      ),
      { numRuns: RUNS * 2, ...SEED },
    );
    await expectHealthy();
  }, 120_000);

  test("every admin API route's body, params and query", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ADMIN_ROUTES),
        adminBody,
        segment,
        segment,
        fc.boolean(),
        async ([method, template], body, a, b, withKey) => {
          const path = template.replace(/:(server|id)/, a).replace(/:name/, b);
          const init: RequestInit = {
            method,
            headers: {
              "content-type": "application/json",
              ...(withKey ? { authorization: `Bearer ${fuzzKey}` } : {}),
            },
          };
          if (method !== "GET" && method !== "DELETE") init.body = JSON.stringify(body);
          expectSafe(`${method} ${path} ${JSON.stringify(body).slice(0, 300)}`, await send(path, init));
        },
      ),
      { numRuns: RUNS * 3, ...SEED },
    );
    await expectHealthy();
  }, 120_000);

  test("tool arguments", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("alpha_echo", "alpha_ask", "nope", "__proto__"),
        fc.oneof(fc.dictionary(fc.oneof(nasty, fc.constant("text")), value, { maxKeys: 5 }), value),
        async (name, args) => {
          const body = JSON.stringify({
            jsonrpc: "2.0",
            id: 3,
            method: "tools/call",
            params: { _meta: META, name, arguments: args },
          });
          expectSafe(
            `tools/call ${body.slice(0, 300)}`,
            await send("/mcp", mcpInit(body, { "mcp-method": "tools/call", "mcp-name": name })),
          );
        },
      ),
      { numRuns: RUNS * 2, ...SEED },
    );
    await expectHealthy();
  }, 120_000);
});
