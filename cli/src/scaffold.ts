/**
 * The files of a new domain server (`omni new-server <name>`): a kit server with one example tool (a
 * valibot input schema, annotations, a handler using ctx), one prompt, a test, and the same entry points
 * as the built-in servers (HTTP for the gateway, stdio for local clients). Formatted as Biome wants.
 */

export interface ScaffoldNames {
  /** Server name, e.g. `weather` or `hr-tools`. */
  name: string;
  /** Tool/prompt prefix: the name with dashes as underscores (`hr_tools`). */
  prefix: string;
  /** PascalCase for identifiers (`HrTools`). */
  pascal: string;
  /** The port `bun servers/<name>/src/index.ts` listens on without PORT. */
  port: number;
}

export function scaffoldNames(name: string, port: number): ScaffoldNames {
  return {
    name,
    prefix: name.replaceAll("-", "_"),
    pascal: name
      .split("-")
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join(""),
    port,
  };
}

export function scaffoldFiles(n: ScaffoldNames): Record<string, string> {
  const tool = `${n.prefix}_greet_person`;
  // Named like the tools, `<server>_<verb>_<object>` (servers/kit/test/folders.test.ts checks every server).
  const prompt = `${n.prefix}_welcome_person`;
  return {
    "package.json": `${JSON.stringify(
      {
        name: `@omni/server-${n.name}`,
        version: "0.1.0",
        private: true,
        type: "module",
        exports: { ".": "./src/app.ts" },
        scripts: { start: "bun src/index.ts", stdio: "bun src/stdio.ts", test: "bun test" },
        dependencies: { "@omni/kit": "workspace:*", valibot: "catalog:" },
        devDependencies: { "@types/bun": "catalog:" },
        omni: { port: n.port },
      },
      null,
      2,
    )}\n`,
    "README.md": `# ${n.pascal} server

A domain server made with the kit (\`servers/kit\`). Tools are listed in \`src/server.ts\`; each has a valibot
input schema and a handler \`(args, ctx)\` (see [the kit's README](../kit/README.md) for \`ctx.elicit\`,
\`ctx.sample\`, \`ctx.progress\`, \`ctx.log\`, \`ctx.signal\` and per-organization \`ctx.config\`).

| command | what it does |
| --- | --- |
| \`bun servers/${n.name}/src/index.ts\` | serve RPC for the gateway and its own \`/mcp\` on :${n.port} (\`PORT\` to change) |
| \`bun servers/${n.name}/src/stdio.ts\` | the same tools over stdio, for a local MCP client |
| \`cd servers/${n.name} && bun test\` | its tests |

This folder is all the platform needs: \`bun run dev\` starts it on :${n.port} (\`omni.port\` in package.json;
\`${n.name.toUpperCase().replaceAll("-", "_")}_PORT\` overrides) and routes the gateway to it, \`bun run compose\` adds it
to compose.yaml, and the gateway adds its catalogue entry (title, description, default prompts) from
\`src/server.ts\` when it discovers it. New organizations get it enabled (\`defaultEnabled: false\` to change
that); existing ones turn it on with \`omni services enable ${n.name}\`. Name prompts like tools:
\`${n.prefix}_<verb>_<object>\`.
`,
    "src/server.ts": `import { defineTool, type ServerDefinition } from "@omni/kit";
import * as v from "valibot";

/** The ${n.name} server: its tools and prompts. Transport and listening live in index.ts and stdio.ts. */
export function create${n.pascal}Server(): ServerDefinition {
  return {
    name: "${n.name}",
    version: "0.1.0",
    title: "${n.pascal}",
    description: "${n.pascal}: an example server made with \`omni new-server\` (say what it offers here).",
    tools: [
      defineTool({
        name: "${tool}",
        description: "Greets a person by name (an example tool: replace it with your own).",
        input: v.object({
          name: v.pipe(v.string(), v.trim(), v.minLength(1, "name must not be empty"), v.maxLength(100)),
          excited: v.optional(v.boolean(), false),
        }),
        annotations: { readOnlyHint: true, idempotentHint: true },
        handler: ({ name, excited }, ctx) => {
          const greeting = \`Hello, \${name}\${excited ? "!" : "."}\`;
          return {
            content: [{ type: "text", text: greeting }],
            structuredContent: { greeting, organization: ctx.org.orgId },
          };
        },
      }),
    ],
    prompts: [
      {
        name: "${prompt}",
        title: "Welcome a person",
        description: "Writes a short welcome message",
        arguments: [{ name: "who", description: "Who to welcome", required: true }],
        messages: [{ role: "user", text: "Write a two-line welcome message for {{who}}." }],
      },
    ],
  };
}
`,
    "src/app.ts": `import { createServerApp, type ServerAppOptions } from "@omni/kit";
import { create${n.pascal}Server } from "./server.ts";

export { create${n.pascal}Server } from "./server.ts";

/** The ${n.name} server's Elysia app (RPC for the gateway, /health, standalone /mcp); opens no port. */
export function createApp(app: ServerAppOptions = {}) {
  return createServerApp(create${n.pascal}Server(), app);
}

export type App = ReturnType<typeof createApp>;
`,
    "src/index.ts": `import { serve } from "@omni/kit";
import { create${n.pascal}Server } from "./server.ts";

// PORT wins when set; this server's conventional port is ${n.port}.
serve(create${n.pascal}Server(), process.env.PORT ? {} : { port: ${n.port} });
`,
    "src/stdio.ts": `import { runStdio } from "@omni/kit";
import { create${n.pascal}Server } from "./server.ts";

await runStdio(create${n.pascal}Server());
`,
    "test/server.test.ts": `import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ConnectedServer, serveWithClient } from "@omni/kit/testing";
import { create${n.pascal}Server } from "../src/server.ts";

let connected: ConnectedServer;
beforeAll(async () => {
  connected = await serveWithClient(create${n.pascal}Server(), "${n.name}-test");
});
afterAll(() => connected.close());

describe("${n.name} server over MCP", () => {
  test("lists its tool with the input schema", async () => {
    const { tools } = await connected.client.listTools();
    const tool = tools.find((t) => t.name === "${tool}");
    expect(tool?.inputSchema.required).toEqual(["name"]);
    expect(tool?.annotations?.readOnlyHint).toBe(true);
  });

  test("calls the tool", async () => {
    const result = await connected.client.callTool({ name: "${tool}", arguments: { name: "Ada", excited: true } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ greeting: "Hello, Ada!" });
  });

  test("refuses bad arguments with the field named", async () => {
    const result = await connected.client
      .callTool({ name: "${tool}", arguments: { name: "" } })
      .catch((error: Error) => ({ isError: true, content: [{ type: "text", text: error.message }] }));
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("name");
  });

  test("renders its prompt", async () => {
    const prompt = await connected.client.getPrompt({ name: "${prompt}", arguments: { who: "the team" } });
    expect(prompt.messages[0]?.content).toMatchObject({ type: "text", text: expect.stringContaining("the team") });
  });
});
`,
  };
}
