import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { defineTool, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";
import { modernRequest } from "./fixtures/replicas.ts";
import { type Stack, startStack } from "./fixtures/stack.ts";

/**
 * Issue 12's protocol fixes through the real gateway with the SDK v1 client: tool argument failures are
 * `isError` results naming the fields; `initialize` and `server/discover` carry the gateway's and the
 * enabled servers' instructions; `completion/complete` pages at 100 with the right `total`/`hasMore` and
 * matches case-insensitively; prompt argument descriptions name their allowed values and default.
 */

const MANY = Array.from({ length: 150 }, (_, i) => `value-${String(i).padStart(3, "0")}`);

const first: ServerDefinition = {
  name: "fix-first",
  version: "1.0.0",
  instructions: "fix-first: call fix_first_echo to echo text.",
  tools: [
    defineTool({
      name: "fix_first_echo",
      description: "Echoes text n times",
      input: v.object({ text: v.string(), times: v.optional(v.pipe(v.number(), v.integer())) }),
      handler: (args) => args.text.repeat(args.times ?? 1),
    }),
  ],
  prompts: [
    {
      name: "fix_first_pick",
      description: "Pick a value",
      arguments: [
        { name: "value", description: "The value to pick", required: true, enum: MANY },
        { name: "tone", enum: ["Warm", "formal"], default: "Warm" },
      ],
      messages: [{ role: "user", text: "Pick {{value}} ({{tone}})" }],
    },
  ],
};
const second: ServerDefinition = {
  name: "fix-second",
  version: "1.0.0",
  instructions: "fix-second: has no tools yet.",
  tools: [],
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    servers: [first, second],
    gateway: { instructions: "Omni gateway: one endpoint for the organization's servers." },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

async function connect(): Promise<Client> {
  const client = new Client({ name: "protocol-fixes", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${stack.url}/mcp`)));
  return client;
}

test("invalid tool arguments are an isError result naming every bad field, so a model can fix them", async () => {
  const client = await connect();
  const result = await client.callTool({ name: "fix_first_echo", arguments: { text: 1, times: 1.5 } });
  expect(result.isError).toBe(true);
  const text = (result.content as { text: string }[])[0]?.text ?? "";
  expect(text).toContain("Invalid arguments for tool fix_first_echo");
  expect(text).toContain("text: ");
  expect(text).toContain("times: ");
  // Unknown tools stay a protocol error.
  await expect(client.callTool({ name: "fix_nope", arguments: {} })).rejects.toThrow(/-32602/);
  await client.close();
});

test("initialize and server/discover combine the gateway's and the enabled servers' instructions", async () => {
  const client = await connect();
  const instructions = client.getInstructions() ?? "";
  expect(instructions).toContain("Omni gateway: one endpoint");
  expect(instructions).toContain("fix-first: call fix_first_echo");
  expect(instructions).toContain("fix-second: has no tools yet.");
  await client.close();
  const { body } = await modernRequest(stack.url, "server/discover", {});
  const discovered = (body as { result: { instructions?: string; cacheScope?: string } }).result;
  expect(discovered.instructions).toBe(instructions);
  expect(discovered.cacheScope).toBe("private");
});

test("completion/complete: the first 100 of 150 matches, total 150, hasMore; case-insensitive", async () => {
  const client = await connect();
  const all = await client.complete({
    ref: { type: "ref/prompt", name: "fix_first_pick" },
    argument: { name: "value", value: "VALUE-" },
  });
  expect(all.completion.values).toHaveLength(100);
  expect(all.completion.total).toBe(150);
  expect(all.completion.hasMore).toBe(true);
  const few = await client.complete({
    ref: { type: "ref/prompt", name: "fix_first_pick" },
    argument: { name: "tone", value: "w" },
  });
  expect(few.completion).toEqual({ values: ["Warm"], total: 1, hasMore: false });
  await client.close();
});

test("prompt argument descriptions name their allowed values and default", async () => {
  const client = await connect();
  const { prompts } = await client.listPrompts();
  const pick = prompts.find((p) => p.name === "fix_first_pick");
  const tone = pick?.arguments?.find((a) => a.name === "tone");
  expect(tone?.description).toBe("One of: Warm, formal. Default: Warm.");
  const value = pick?.arguments?.find((a) => a.name === "value");
  expect(value?.description).toStartWith("The value to pick. One of: value-000, value-001");
  await client.close();
});
