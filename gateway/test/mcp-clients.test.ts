import { afterAll, beforeAll, expect, test } from "bun:test";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { DEMO_ORG_ID } from "@omni/db";
import { createDevAuthenticator } from "../src/mcp/dev-auth.ts";
import { WS_CLOSE_CREDENTIALS } from "../src/mcp/ws.ts";
import type { Authenticator } from "../src/ports.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";
import { alphaServer, betaServer } from "./fixtures/test-servers.ts";

let stack: Stack;
/** Flipped by a test to revoke every credential (the WebSocket must then be closed). */
let revoked = false;
const dev = createDevAuthenticator(DEMO_ORG_ID);
const authenticator: Authenticator = {
  async authenticate(headers, remote) {
    const outcome = await dev.authenticate(headers, remote);
    return outcome.ok ? { ...outcome, credentialId: "test-credential" } : outcome;
  },
  async stillValid(credentialId) {
    return credentialId === "test-credential" && !revoked;
  },
};

beforeAll(async () => {
  stack = await startStack({
    servers: [alphaServer, betaServer],
    authenticator,
    gateway: { credentialCheckMs: 50 },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const inspector = join(import.meta.dir, "../node_modules/@modelcontextprotocol/inspector-cli/build/index.js");

async function inspect(...args: string[]): Promise<unknown> {
  const proc = Bun.spawn(["bun", inspector, `${stack.url}/mcp`, "--transport", "http", ...args], {
    // inspector-cli checks `../package.json` against the working directory before importing it
    // relative to itself: run it from its build/ folder so that works wherever the tests start.
    cwd: dirname(inspector),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`inspector-cli exited ${code}: ${stderr}`);
  return JSON.parse(stdout);
}

test("inspector-cli lists and calls tools, gets a prompt, reads a resource", async () => {
  const list = (await inspect("--method", "tools/list")) as { tools: { name: string }[] };
  expect(list.tools.map((t) => t.name)).toEqual(expect.arrayContaining(["alpha_echo", "beta_add"]));
  const call = await inspect("--method", "tools/call", "--tool-name", "alpha_echo", "--tool-arg", "text=cli");
  expect(call).toMatchObject({ content: [{ type: "text", text: `alpha says cli to ${DEMO_ORG_ID}` }] });
  const prompt = await inspect(
    "--method",
    "prompts/get",
    "--prompt-name",
    "alpha_greet",
    "--prompt-args",
    "who=world",
  );
  expect(prompt).toMatchObject({ messages: [{ content: { text: "Say hello to world." } }] });
  const resource = await inspect("--method", "resources/read", "--uri", "beta://items/3");
  expect(resource).toMatchObject({ contents: [{ uri: "beta://items/3", text: '{"id":"3"}' }] });
}, 60_000);

test("WebSocket (subprotocol mcp): the same methods as /mcp", async () => {
  const client = new Client({ name: "ws", version: "1.0.0" });
  await client.connect(new WebSocketClientTransport(new URL(`${stack.url.replace("http", "ws")}/ws`)));
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["alpha_echo", "beta_add"]));
  const sum = await client.callTool({ name: "beta_add", arguments: { a: 20, b: 22 } });
  expect(sum.structuredContent).toEqual({ sum: 42 });
  const prompt = await client.getPrompt({ name: "alpha_greet", arguments: { who: "world" } });
  expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Say hello to world." });
  await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toThrow(/-32602/);
  await client.close();
});

test("WebSocket upgrade without the mcp subprotocol or from a foreign host is refused", async () => {
  const plain = await fetch(`${stack.url}/ws`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
  });
  expect(plain.status).toBe(400);
  const foreign = await fetch(`${stack.url}/ws`, { headers: { host: "evil.example.com" } });
  expect(foreign.status).toBe(403);
});

test("a WebSocket is closed with a clear code and reason when its credential is revoked", async () => {
  const socket = new WebSocket(`${stack.url.replace("http", "ws")}/ws`, ["mcp"]);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  expect(socket.protocol).toBe("mcp");
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  revoked = true;
  try {
    const { code, reason } = await closed;
    expect(code).toBe(WS_CLOSE_CREDENTIALS);
    expect(reason).toMatch(/revoked/);
  } finally {
    revoked = false;
  }
});
