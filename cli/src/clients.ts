import { homedir } from "node:os";
import { join } from "node:path";
import {
  applyEdits,
  type FormattingOptions,
  modify,
  type ParseError,
  parse as parseJsonc,
  printParseErrorCode,
} from "jsonc-parser";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { isMap, parseDocument } from "yaml";
import { CliError } from "./output.ts";

/**
 * What `omni client-config` writes for each MCP client: the file at the client's documented location,
 * the path of our entry inside it, and the entry. Merging keeps everything else in the file (JSON with
 * comments through jsonc-parser's edits, YAML through the `yaml` document model, TOML through smol-toml).
 */

export const CLIENT_IDS = [
  "claude-desktop",
  "claude-code",
  "cursor",
  "vscode",
  "windsurf",
  "codex",
  "zed",
  "goose",
] as const;
export type ClientId = (typeof CLIENT_IDS)[number];

export interface ClientContext {
  /** The entry's name in the client, e.g. `omni` or `omni-acme`. */
  name: string;
  /** The gateway's MCP endpoint. */
  mcpUrl: string;
  /** The gateway's base URL (for `omni connect`). */
  baseUrl: string;
  /** The API key, when one is given (none in local development mode). */
  key?: string | undefined;
  /** The environment variable clients that can read one take the key from. */
  keyEnv: string;
  /** Write the key itself even where the client could read it from `keyEnv`. */
  inlineKey: boolean;
  home: string;
  cwd: string;
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  /** How to start `omni connect` (absolute paths: GUI clients have no shell PATH). */
  connect: { command: string; args: string[] };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ClientFile {
  path: string;
  format: "json" | "toml" | "yaml";
  /** Where our entry goes, e.g. ["mcpServers", "omni"]. */
  entryPath: string[];
  entry: { [key: string]: Json };
  /** VS Code's `inputs` (the key prompt), merged by id. */
  inputs?: { [key: string]: Json }[];
}

export interface ClientTarget {
  title: string;
  /** Where the file lives (the client's docs). */
  docs: string;
  file(ctx: ClientContext): ClientFile;
  /** A command that does the same, where the client has one. */
  command?(ctx: ClientContext): string;
  /** Whether the key is written into the file itself (then it is written 0600). */
  inlinesKey(ctx: ClientContext): boolean;
}

const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });

/** `Authorization` through the client's env-var syntax, or the key itself (or nothing without a key). */
function headers(
  ctx: ClientContext,
  envSyntax: ((name: string) => string) | null,
): { headers?: { [k: string]: Json } } {
  if (!ctx.key) return {};
  if (envSyntax && !ctx.inlineKey) return { headers: bearer(envSyntax(ctx.keyEnv)) };
  return { headers: bearer(ctx.key) };
}

/** The stdio bridge's environment: the key, when there is one. */
function keyEnvironment(ctx: ClientContext): { [key: string]: Json } {
  const env: { [key: string]: Json } = {};
  if (ctx.key) env.OMNI_API_KEY = ctx.key;
  return env;
}

const appData = (ctx: ClientContext) => ctx.env.APPDATA ?? join(ctx.home, "AppData", "Roaming");
const xdgConfig = (ctx: ClientContext) => ctx.env.XDG_CONFIG_HOME ?? join(ctx.home, ".config");

export const CLIENTS: Record<ClientId, ClientTarget> = {
  "claude-desktop": {
    title: "Claude Desktop",
    docs: "claude_desktop_config.json, mcpServers (stdio servers: through `omni connect`)",
    file: (ctx) => ({
      path:
        ctx.platform === "darwin"
          ? join(ctx.home, "Library", "Application Support", "Claude", "claude_desktop_config.json")
          : ctx.platform === "win32"
            ? join(appData(ctx), "Claude", "claude_desktop_config.json")
            : join(xdgConfig(ctx), "Claude", "claude_desktop_config.json"),
      format: "json",
      entryPath: ["mcpServers", ctx.name],
      entry: {
        command: ctx.connect.command,
        args: [...ctx.connect.args, "connect", "--url", ctx.baseUrl],
        env: keyEnvironment(ctx),
      },
    }),
    inlinesKey: (ctx) => Boolean(ctx.key),
  },
  "claude-code": {
    title: "Claude Code",
    docs: "project .mcp.json, mcpServers with type http (or `claude mcp add --transport http`)",
    file: (ctx) => ({
      path: join(ctx.cwd, ".mcp.json"),
      format: "json",
      entryPath: ["mcpServers", ctx.name],
      entry: { type: "http", url: ctx.mcpUrl, ...headers(ctx, (name) => `\${${name}}`) },
    }),
    command: (ctx) =>
      `claude mcp add --transport http ${ctx.name} ${ctx.mcpUrl}${ctx.key ? ` --header "Authorization: Bearer $${ctx.keyEnv}"` : ""}`,
    inlinesKey: (ctx) => Boolean(ctx.key && ctx.inlineKey),
  },
  cursor: {
    title: "Cursor",
    docs: "~/.cursor/mcp.json, mcpServers with url",
    file: (ctx) => ({
      path: join(ctx.home, ".cursor", "mcp.json"),
      format: "json",
      entryPath: ["mcpServers", ctx.name],
      entry: { url: ctx.mcpUrl, ...headers(ctx, (name) => `\${env:${name}}`) },
    }),
    inlinesKey: (ctx) => Boolean(ctx.key && ctx.inlineKey),
  },
  vscode: {
    title: "VS Code",
    docs: ".vscode/mcp.json, servers with type http; the key asked once through inputs",
    file: (ctx) => {
      const inputId = `${ctx.name}-api-key`;
      const promptForKey = Boolean(ctx.key) && !ctx.inlineKey;
      return {
        path: join(ctx.cwd, ".vscode", "mcp.json"),
        format: "json",
        entryPath: ["servers", ctx.name],
        entry: {
          type: "http",
          url: ctx.mcpUrl,
          ...(ctx.key ? { headers: bearer(promptForKey ? `\${input:${inputId}}` : ctx.key) } : {}),
        },
        ...(promptForKey
          ? {
              inputs: [
                {
                  type: "promptString",
                  id: inputId,
                  description: "Omni MCP API key (omni_sk_...)",
                  password: true,
                },
              ],
            }
          : {}),
      };
    },
    inlinesKey: (ctx) => Boolean(ctx.key && ctx.inlineKey),
  },
  windsurf: {
    title: "Windsurf",
    docs: "~/.codeium/windsurf/mcp_config.json, mcpServers with serverUrl",
    file: (ctx) => ({
      path: join(ctx.home, ".codeium", "windsurf", "mcp_config.json"),
      format: "json",
      entryPath: ["mcpServers", ctx.name],
      entry: { serverUrl: ctx.mcpUrl, ...headers(ctx, (name) => `\${env:${name}}`) },
    }),
    inlinesKey: (ctx) => Boolean(ctx.key && ctx.inlineKey),
  },
  codex: {
    title: "Codex",
    docs: "~/.codex/config.toml ($CODEX_HOME), [mcp_servers.<name>] with url and bearer_token_env_var",
    file: (ctx) => ({
      path: join(ctx.env.CODEX_HOME ?? join(ctx.home, ".codex"), "config.toml"),
      format: "toml",
      entryPath: ["mcp_servers", ctx.name],
      entry: {
        url: ctx.mcpUrl,
        // Codex refuses an inline bearer token in config.toml: the key always comes from the environment.
        ...(ctx.key ? { bearer_token_env_var: ctx.keyEnv } : {}),
      },
    }),
    command: (ctx) =>
      `codex mcp add ${ctx.name} --url ${ctx.mcpUrl}${ctx.key ? ` --bearer-token-env-var ${ctx.keyEnv}` : ""}`,
    inlinesKey: () => false,
  },
  zed: {
    title: "Zed",
    docs: "~/.config/zed/settings.json, context_servers with url and headers",
    file: (ctx) => ({
      path:
        ctx.platform === "win32"
          ? join(appData(ctx), "Zed", "settings.json")
          : join(xdgConfig(ctx), "zed", "settings.json"),
      format: "json",
      entryPath: ["context_servers", ctx.name],
      entry: { url: ctx.mcpUrl, ...headers(ctx, null) },
    }),
    inlinesKey: (ctx) => Boolean(ctx.key),
  },
  goose: {
    title: "Goose",
    docs: "~/.config/goose/config.yaml, extensions with type streamable_http",
    file: (ctx) => ({
      path:
        ctx.platform === "win32"
          ? join(appData(ctx), "Block", "goose", "config", "config.yaml")
          : join(xdgConfig(ctx), "goose", "config.yaml"),
      format: "yaml",
      entryPath: ["extensions", ctx.name],
      entry: {
        enabled: true,
        type: "streamable_http",
        name: ctx.name,
        description: "Omni MCP gateway",
        uri: ctx.mcpUrl,
        ...headers(ctx, null),
        timeout: 300,
      },
    }),
    inlinesKey: (ctx) => Boolean(ctx.key),
  },
};

export function defaultContext(): Pick<ClientContext, "home" | "cwd" | "platform" | "env"> {
  return {
    home: process.env.HOME ?? homedir(),
    cwd: process.cwd(),
    platform: process.platform,
    env: process.env,
  };
}

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: "\n" };

function mergeJson(path: string, existing: string, file: ClientFile): string {
  const errors: ParseError[] = [];
  const current = existing.trim() ? parseJsonc(existing, errors, { allowTrailingComma: true }) : {};
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new CliError(
      `${path} is not valid JSON (${printParseErrorCode(first.error)} at offset ${first.offset}); nothing was changed`,
      "fix the file by hand (or move it away), then run the command again",
    );
  }
  if (typeof current !== "object" || current === null || Array.isArray(current)) {
    throw new CliError(
      `${path} does not hold a JSON object; nothing was changed`,
      "fix or move the file, then retry",
    );
  }
  let text = existing.trim() ? existing : "{}\n";
  text = applyEdits(text, modify(text, file.entryPath, file.entry, { formattingOptions: FORMAT }));
  for (const input of file.inputs ?? []) {
    const inputs = (parseJsonc(text) as { inputs?: unknown }).inputs;
    const list = Array.isArray(inputs) ? inputs : [];
    const at = list.findIndex(
      (i) => typeof i === "object" && i !== null && (i as { id?: unknown }).id === input.id,
    );
    text = applyEdits(
      text,
      modify(text, ["inputs", at >= 0 ? at : list.length], input, {
        formattingOptions: FORMAT,
        ...(at >= 0 ? {} : { isArrayInsertion: true }),
      }),
    );
  }
  return text.endsWith("\n") ? text : `${text}\n`;
}

function mergeToml(path: string, existing: string, file: ClientFile): string {
  let doc: Record<string, unknown>;
  try {
    doc = existing.trim() ? (parseToml(existing) as Record<string, unknown>) : {};
  } catch (error) {
    throw new CliError(
      `${path} is not valid TOML (${(error as Error).message.split("\n")[0]}); nothing was changed`,
    );
  }
  let node: Record<string, unknown> = doc;
  for (const key of file.entryPath.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[file.entryPath.at(-1)!] = file.entry;
  return `${stringifyToml(doc).trimEnd()}\n`;
}

function mergeYaml(path: string, existing: string, file: ClientFile): string {
  const doc = parseDocument(existing);
  if (doc.errors.length > 0) {
    throw new CliError(
      `${path} is not valid YAML (${doc.errors[0]?.message.split("\n")[0]}); nothing was changed`,
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new CliError(`${path} does not hold a YAML mapping; nothing was changed`);
  }
  doc.setIn(file.entryPath, doc.createNode(file.entry));
  return doc.toString();
}

/** The file's text with our entry merged in (everything else kept); `existing` is "" for a new file. */
export function mergeConfig(file: ClientFile, existing: string): string {
  switch (file.format) {
    case "json":
      return mergeJson(file.path, existing, file);
    case "toml":
      return mergeToml(file.path, existing, file);
    case "yaml":
      return mergeYaml(file.path, existing, file);
  }
}
