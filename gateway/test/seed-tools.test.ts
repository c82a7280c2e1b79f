import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type DbHandle, registerCatalogue, schema } from "@omni/db";
import { type ServerDefinition, serverCapabilities } from "@omni/kit";
import { createDevtoolsServer } from "@omni/server-devtools";
import { createLinearServer } from "@omni/server-linear";
import { createPerplexityServer } from "@omni/server-perplexity";
import { eq } from "drizzle-orm";

/**
 * The catalogue (default prompts and static resources, as `registerCatalogue` writes them) against the real
 * server definitions: every tool a seeded text names is a tool of that server, and no seeded static URI
 * shadows a server's own dynamic resource or resource template. Building the definitions opens nothing.
 */
const devtools = createDevtoolsServer();
const definitions: ServerDefinition[] = [createLinearServer(), createPerplexityServer(), devtools];

/** Tool-like tokens: `<prefix>_<name>`, where the prefixes are every server's tool prefix and its name. */
const prefixes = new Set<string>();
for (const def of definitions) {
  prefixes.add(def.name);
  for (const tool of def.tools) prefixes.add(tool.name.slice(0, tool.name.indexOf("_")));
}
prefixes.delete("");
const TOOL_TOKEN = new RegExp(`\\b(?:${[...prefixes].join("|")})_[a-z0-9_]*[a-z0-9]`, "g");
const toolTokens = (text: string): string[] => [...new Set(text.match(TOOL_TOKEN) ?? [])];

/** RFC 6570 level-1 template (`{var}` = one path segment) as an anchored regex. */
function templateRegex(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/?#]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

interface SeededText {
  server: string;
  what: string;
  text: string;
}

let db: DbHandle;
let texts: SeededText[] = [];
let uris: { server: string; uri: string }[] = [];

beforeAll(async () => {
  const handle = await createTestDatabase("pglite", { seed: true });
  if (!handle) throw new Error("PGlite test database unavailable");
  db = handle;
  // The catalogue as a gateway writes it when it discovers the servers: from their own definitions.
  for (const def of definitions) await registerCatalogue(db.db, serverCapabilities(def));
  const prompts = await db.db
    .select({ server: schema.mcpServers.name, prompt: schema.defaultPrompts })
    .from(schema.defaultPrompts)
    .innerJoin(schema.mcpServers, eq(schema.defaultPrompts.serverId, schema.mcpServers.id));
  const resources = await db.db
    .select({ server: schema.mcpServers.name, resource: schema.defaultResources })
    .from(schema.defaultResources)
    .innerJoin(schema.mcpServers, eq(schema.defaultResources.serverId, schema.mcpServers.id));
  texts = [
    ...prompts.map(({ server, prompt: p }) => ({
      server,
      what: `prompt ${p.name}`,
      text: JSON.stringify([p.title, p.description, p.arguments, p.messages]),
    })),
    ...resources.map(({ server, resource: r }) => ({
      server,
      what: `resource ${r.uri}`,
      text: JSON.stringify([r.title, r.description, r.text]),
    })),
  ];
  uris = resources.map(({ server, resource }) => ({ server, uri: resource.uri }));
}, 60_000);

afterAll(async () => {
  await db?.close();
  await devtools.close?.();
});

describe("seeded catalogue vs the real server definitions", () => {
  test("every seeded server has a definition, and every definition is seeded", () => {
    const seeded = new Set(texts.map((t) => t.server));
    expect([...seeded].sort()).toEqual(definitions.map((d) => d.name).sort());
  });

  test("every tool named in a seeded prompt or resource is a real tool of that server", () => {
    const toolsOf = new Map(definitions.map((d) => [d.name, new Set(d.tools.map((t) => t.name))]));
    const unknown: string[] = [];
    const mentioned = new Map<string, number>();
    for (const { server, what, text } of texts) {
      const tools = toolsOf.get(server) ?? new Set<string>();
      for (const token of toolTokens(text)) {
        mentioned.set(server, (mentioned.get(server) ?? 0) + 1);
        if (!tools.has(token)) unknown.push(`${server} ${what}: ${token}`);
      }
    }
    expect(unknown).toEqual([]);
    // The check is not vacuous: each server's seed names several of its tools.
    for (const def of definitions) expect(mentioned.get(def.name) ?? 0).toBeGreaterThan(2);
  });

  test("the token scan catches a tool that does not exist", () => {
    expect(toolTokens("use linear_get_issue, then chrome_go_sideways and perplexity_ask.")).toEqual([
      "linear_get_issue",
      "chrome_go_sideways",
      "perplexity_ask",
    ]);
  });

  test("seeded static resource URIs use their server's scheme and never shadow its dynamic resources", () => {
    const problems: string[] = [];
    for (const { server, uri } of uris) {
      const def = definitions.find((d) => d.name === server);
      if (!def) {
        problems.push(`${uri}: no server ${server}`);
        continue;
      }
      if (!uri.startsWith(`${server}://`)) problems.push(`${uri}: not under ${server}://`);
      for (const r of def.resources ?? [])
        if (r.uri === uri) problems.push(`${uri}: is ${server}'s resource`);
      for (const t of def.resourceTemplates ?? []) {
        if (templateRegex(t.uriTemplate).test(uri)) problems.push(`${uri}: matches ${t.uriTemplate}`);
      }
    }
    expect(problems).toEqual([]);
    expect(uris.length).toBeGreaterThan(0);
  });

  test("the template matcher recognises the servers' own URIs", () => {
    expect(templateRegex("linear://teams/{teamId}/issues").test("linear://teams/abc-1/issues")).toBe(true);
    expect(templateRegex("linear://issues/{identifier}").test("linear://issues/ENG-123")).toBe(true);
    expect(templateRegex("linear://issues/{identifier}").test("linear://guides/team-data")).toBe(false);
    expect(templateRegex("perplexity://research/{requestId}").test("perplexity://research/r1")).toBe(true);
  });
});
