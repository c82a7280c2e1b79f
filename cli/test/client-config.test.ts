import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { parse as parseToml } from "smol-toml";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { omni } from "./fixtures/harness.ts";

/**
 * `omni client-config <client> --write` against a temporary HOME holding each client's config with another
 * server already in it: the result matches the client's documented shape, the other server (and comments)
 * survive, the old file is kept as .bak, and a second run changes nothing.
 */

// Subprocesses on a shared 2-core machine: seconds each, so no per-test default of 5 s.
setDefaultTimeout(60_000);

const KEY = "omni_sk_abcdefgh_0123456789012345678901234567890123456789012";
const MCP_URL = "http://127.0.0.1:37373/mcp";
let home: string;
let project: string;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "omni-cli-home-"));
  project = join(home, "project");
  mkdirSync(project);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const bearer = (value: string) => v.object({ Authorization: v.literal(`Bearer ${value}`) });
const http = v.pipe(v.string(), v.url(), v.startsWith("http://"));

interface Case {
  /** The client's config file, relative to HOME (or to the project for project files). */
  file: (home: string, project: string) => string;
  existing: string;
  parse: (text: string) => unknown;
  /** The documented shape of the whole file after the merge (the other server included). */
  shape: v.GenericSchema;
  /** Text that must survive the merge (comments, other keys). */
  keeps: string[];
  /** The key is written into the file (then it must be 0600). */
  inline: boolean;
}

const jsonc = (text: string) => parseJsonc(text, [], { allowTrailingComma: true }) as unknown;

const CASES: Record<string, Case> = {
  "claude-desktop": {
    file: (h) => join(h, ".config", "Claude", "claude_desktop_config.json"),
    existing: `{\n  "mcpServers": {\n    "other": { "command": "npx", "args": ["-y", "other-mcp"] }\n  },\n  "globalShortcut": "Ctrl+Space"\n}\n`,
    parse: JSON.parse,
    shape: v.object({
      globalShortcut: v.string(),
      mcpServers: v.object({
        other: v.object({ command: v.literal("npx"), args: v.array(v.string()) }),
        omni: v.strictObject({
          command: v.string(),
          args: v.pipe(v.array(v.string()), v.includes("connect"), v.includes("http://127.0.0.1:37373")),
          env: v.strictObject({ OMNI_API_KEY: v.literal(KEY) }),
        }),
      }),
    }),
    keeps: ['"globalShortcut": "Ctrl+Space"'],
    inline: true,
  },
  "claude-code": {
    file: (_h, p) => join(p, ".mcp.json"),
    existing: `{\n  "mcpServers": {\n    "other": { "type": "stdio", "command": "other" }\n  }\n}\n`,
    parse: JSON.parse,
    shape: v.object({
      mcpServers: v.object({
        other: v.object({ type: v.literal("stdio") }),
        omni: v.strictObject({ type: v.literal("http"), url: http, headers: bearer(`\${OMNI_API_KEY}`) }),
      }),
    }),
    keeps: [],
    inline: false,
  },
  cursor: {
    file: (h) => join(h, ".cursor", "mcp.json"),
    existing: `{\n  "mcpServers": {\n    "other": { "url": "https://other.example/mcp" }\n  }\n}\n`,
    parse: JSON.parse,
    shape: v.object({
      mcpServers: v.object({
        other: v.object({ url: v.string() }),
        omni: v.strictObject({ url: http, headers: bearer(`\${env:OMNI_API_KEY}`) }),
      }),
    }),
    keeps: [],
    inline: false,
  },
  vscode: {
    file: (_h, p) => join(p, ".vscode", "mcp.json"),
    existing: `{\n  // team servers\n  "servers": {\n    "other": { "type": "stdio", "command": "other" }\n  },\n  "inputs": [{ "type": "promptString", "id": "other-token", "password": true }]\n}\n`,
    parse: jsonc,
    shape: v.object({
      servers: v.object({
        other: v.object({ type: v.literal("stdio") }),
        omni: v.strictObject({
          type: v.literal("http"),
          url: http,
          headers: bearer(`\${input:omni-api-key}`),
        }),
      }),
      inputs: v.tuple([
        v.object({ id: v.literal("other-token") }),
        v.strictObject({
          type: v.literal("promptString"),
          id: v.literal("omni-api-key"),
          description: v.string(),
          password: v.literal(true),
        }),
      ]),
    }),
    keeps: ["// team servers"],
    inline: false,
  },
  windsurf: {
    file: (h) => join(h, ".codeium", "windsurf", "mcp_config.json"),
    existing: `{\n  "mcpServers": {\n    "other": { "command": "other", "args": [] }\n  }\n}\n`,
    parse: JSON.parse,
    shape: v.object({
      mcpServers: v.object({
        other: v.object({ command: v.string() }),
        omni: v.strictObject({ serverUrl: http, headers: bearer(`\${env:OMNI_API_KEY}`) }),
      }),
    }),
    keeps: [],
    inline: false,
  },
  codex: {
    file: (h) => join(h, ".codex", "config.toml"),
    existing: `model = "o4-mini"\n\n[mcp_servers.other]\ncommand = "other"\nargs = ["--stdio"]\n`,
    parse: parseToml,
    shape: v.object({
      model: v.literal("o4-mini"),
      mcp_servers: v.object({
        other: v.object({ command: v.literal("other"), args: v.array(v.string()) }),
        omni: v.strictObject({ url: http, bearer_token_env_var: v.literal("OMNI_API_KEY") }),
      }),
    }),
    keeps: [],
    inline: false,
  },
  zed: {
    file: (h) => join(h, ".config", "zed", "settings.json"),
    existing: `// Zed settings\n{\n  "theme": "One Dark",\n  "context_servers": {\n    "other": { "command": "other", "args": [], "env": {} },\n  },\n}\n`,
    parse: jsonc,
    shape: v.object({
      theme: v.literal("One Dark"),
      context_servers: v.object({
        other: v.object({ command: v.string() }),
        omni: v.strictObject({ url: http, headers: bearer(KEY) }),
      }),
    }),
    keeps: ["// Zed settings", '"theme": "One Dark"'],
    inline: true,
  },
  goose: {
    file: (h) => join(h, ".config", "goose", "config.yaml"),
    existing: `# goose settings\nGOOSE_PROVIDER: anthropic\nextensions:\n  developer:\n    enabled: true\n    type: builtin\n    name: developer\n`,
    parse: parseYaml,
    shape: v.object({
      GOOSE_PROVIDER: v.literal("anthropic"),
      extensions: v.object({
        developer: v.object({ type: v.literal("builtin") }),
        omni: v.strictObject({
          enabled: v.literal(true),
          type: v.literal("streamable_http"),
          name: v.literal("omni"),
          description: v.string(),
          uri: http,
          headers: bearer(KEY),
          timeout: v.number(),
        }),
      }),
    }),
    keeps: ["# goose settings"],
    inline: true,
  },
};

const env = () => ({
  HOME: home,
  XDG_CONFIG_HOME: join(home, ".config"),
  CODEX_HOME: join(home, ".codex"),
  OMNI_URL: "http://127.0.0.1:37373",
  OMNI_API_KEY: KEY,
});

describe("omni client-config", () => {
  for (const [client, c] of Object.entries(CASES)) {
    test(`${client}: prints the documented shape and merges into an existing file, idempotently`, async () => {
      const path = c.file(home, project);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, c.existing);

      const printed = await omni(["client-config", client], { env: env(), cwd: project });
      expect(printed.code).toBe(0);
      expect(printed.stderr).toContain(path);
      expect(() => c.parse(printed.stdout)).not.toThrow();

      const written = await omni(["client-config", client, "--write"], { env: env(), cwd: project });
      expect(written.code, written.stderr).toBe(0);
      expect(written.stdout).toContain(`updated ${path}`);
      const text = readFileSync(path, "utf8");
      const parsed = v.safeParse(c.shape, c.parse(text));
      expect(parsed.issues?.map((i) => `${v.getDotPath(i)}: ${i.message}`) ?? []).toEqual([]);
      for (const kept of c.keeps) expect(text).toContain(kept);
      expect(readFileSync(`${path}.bak`, "utf8")).toBe(c.existing);
      expect(text.includes(KEY)).toBe(c.inline);
      if (c.inline) expect(statSync(path).mode & 0o777).toBe(0o600);

      const again = await omni(["client-config", client, "--write"], { env: env(), cwd: project });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("nothing changed");
      expect(readFileSync(path, "utf8")).toBe(text);
    });
  }

  test("a new file is created; --org names the entry and its key variable", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "omni-cli-home-"));
    try {
      const result = await omni(["client-config", "codex", "--org", "acme", "--write"], {
        env: { ...env(), HOME: fresh, CODEX_HOME: join(fresh, ".codex") },
        cwd: fresh,
      });
      expect(result.code).toBe(0);
      const path = join(fresh, ".codex", "config.toml");
      expect(existsSync(`${path}.bak`)).toBe(false);
      expect(parseToml(readFileSync(path, "utf8"))).toEqual({
        mcp_servers: { "omni-acme": { url: MCP_URL, bearer_token_env_var: "OMNI_API_KEY_ACME" } },
      });
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  test("an unparsable existing file is left alone", async () => {
    const path = join(home, ".cursor", "mcp.json");
    writeFileSync(path, "{ not json");
    const result = await omni(["client-config", "cursor", "--write"], { env: env(), cwd: project });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not valid JSON");
    expect(readFileSync(path, "utf8")).toBe("{ not json");
  });
});

describe("omni client-config without a key", () => {
  test("uses the organization's OAuth endpoint when the gateway's metadata names an authorization server", async () => {
    // A stand-in for the gateway's public protected-resource metadata (what /.well-known/... serves).
    const metadata = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request: Request): Response => {
        const path = new URL(request.url).pathname;
        if (path !== "/.well-known/oauth-protected-resource/mcp/o/acme")
          return new Response("no", { status: 404 });
        return Response.json({
          resource: `${new URL(request.url).origin}/mcp/o/acme`,
          authorization_servers: ["https://clerk.acme.test"],
          bearer_methods_supported: ["header"],
          scopes_supported: [],
          resource_name: "Omni MCP (acme)",
        });
      },
    });
    try {
      const base = `http://127.0.0.1:${metadata.port}`;
      const oauth = await omni(["client-config", "cursor", "--org", "acme", "--url", base], {
        env: { HOME: home },
        cwd: project,
      });
      expect(oauth.code).toBe(0);
      expect(JSON.parse(oauth.stdout)).toEqual({
        mcpServers: { "omni-acme": { url: `${base}/mcp/o/acme` } },
      });
      expect(oauth.stderr).toContain("OAuth");

      // Without an authorization server (or another org): the plain endpoint, and no header without a key.
      const plain = await omni(["client-config", "cursor", "--org", "other", "--url", base], {
        env: { HOME: home },
        cwd: project,
      });
      expect(JSON.parse(plain.stdout)).toEqual({ mcpServers: { "omni-other": { url: `${base}/mcp` } } });
    } finally {
      await metadata.stop(true);
    }
  });
});
