import { afterAll, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const entry = fileURLToPath(new URL("./fixtures/stdio-entry.ts", import.meta.url));
const client = new Client({ name: "stdio-test", version: "1.0.0" }, { capabilities: { elicitation: {} } });

afterAll(async () => {
  await client.close();
});

test("runStdio serves the definition to an SDK client over stdio", async () => {
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: "accept", content: { name: "Stdio" } }));
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [entry], stderr: "pipe" }),
  );
  expect(client.getServerVersion()).toMatchObject({ name: "kit-test", version: "1.2.3" });
  const { tools } = await client.listTools();
  expect(tools.length).toBeGreaterThan(5);
  const echo = await client.callTool({ name: "test_echo", arguments: { text: "io" } });
  expect(echo.content).toEqual([{ type: "text", text: "io" }]);
  const whoami = await client.callTool({ name: "test_whoami", arguments: {} });
  expect(whoami.content).toEqual([{ type: "text", text: "local/stdio/from-env/local" }]);
  const elicit = await client.callTool({ name: "test_elicit", arguments: {} });
  expect(elicit.content).toEqual([{ type: "text", text: "Hello, Stdio" }]);
});
