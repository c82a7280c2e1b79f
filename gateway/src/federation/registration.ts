import type { FederatedServer, FederatedTransport, NewOperatorUpstream, SecretEnvelope } from "@omni/db";
import * as v from "valibot";
import { loadSecretKeys, SecretBox } from "../config/secrets.ts";

/**
 * Registering federated upstreams, shared by the admin API (`admin/federation.ts`) and the operator CLI
 * (`omni servers add`): prefix rules, the auth secret's sealing, and the MCP Registry's `server.json`.
 */

/** A namespace prefix: lowercase, no `_` (tool names are `<prefix>_<name>`, so prefixes never overlap). */
export const PREFIX = /^[a-z][a-z0-9-]{0,31}$/;

export const PREFIX_RULE =
  "1-32 characters: a lowercase letter, then lowercase letters, digits or '-' (no '_': tool names are <prefix>_<tool>)";

/** The AAD scope of an upstream's auth header secret: bound to its org (or global) and its row. */
export function upstreamSecretScope(row: { id: string; organizationId: string | null }, header: string) {
  return { orgId: row.organizationId ?? "*", server: `federated:${row.id}`, name: header };
}

/** The operator's secret box (the gateway's keys from `OMNI_SECRET_KEY`, or the development key file). */
export function operatorSecretBox(env: Record<string, string | undefined>): SecretBox {
  return new SecretBox(loadSecretKeys(env));
}

export function sealUpstreamSecret(
  box: SecretBox,
  row: { id: string; organizationId: string | null },
  header: string,
  value: string,
): SecretEnvelope {
  return box.encrypt(value, upstreamSecretScope(row, header));
}

/** The HTTP headers to send to an upstream (its auth header, decrypted). */
export function upstreamHeaders(box: SecretBox, row: FederatedServer): Record<string, string> {
  if (!row.authHeader || !row.authSecret) return {};
  return { [row.authHeader]: box.decrypt(row.authSecret, upstreamSecretScope(row, row.authHeader)) };
}

/**
 * Why `prefix` cannot be used by an upstream visible to `orgId` (null: a global upstream, visible to
 * every org), or null when it can: it must follow `PREFIX`, differ from every built-in server's name
 * and tool-name head, and from every other upstream the same org would see.
 */
export function prefixProblem(
  prefix: string,
  orgId: string | null,
  context: { builtinTools: Iterable<string>; builtinServers: Iterable<string>; upstreams: FederatedServer[] },
): string | null {
  if (!PREFIX.test(prefix)) return `prefix "${prefix}" is invalid: ${PREFIX_RULE}`;
  for (const server of context.builtinServers) {
    if (server === prefix) return `prefix "${prefix}" is the name of a built-in server`;
  }
  for (const tool of context.builtinTools) {
    if (tool.startsWith(`${prefix}_`)) return `prefix "${prefix}" would collide with built-in tool ${tool}`;
  }
  const clash = context.upstreams.find(
    (u) => u.prefix === prefix && (orgId === null || u.organizationId === null || u.organizationId === orgId),
  );
  if (clash) {
    return `prefix "${prefix}" is already used by upstream "${clash.name}"${clash.organizationId ? "" : " (global)"}`;
  }
  return null;
}

/** A default prefix from a name: `io.github.acme/weather-server` → `weather-server`. */
export function defaultPrefix(name: string): string {
  const tail = name.split("/").at(-1) ?? name;
  const cleaned = tail
    .toLowerCase()
    .replace(/^(mcp-)?server-|-mcp$|^mcp-/g, "")
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+|-+$/g, "")
    .slice(0, 32);
  return cleaned || "upstream";
}

// ---- MCP Registry server.json ----------------------------------------------------------------------

const Header = v.object({
  name: v.string(),
  value: v.optional(v.string()),
  isSecret: v.optional(v.boolean()),
  isRequired: v.optional(v.boolean()),
});

const Remote = v.object({
  type: v.string(),
  url: v.pipe(v.string(), v.url()),
  headers: v.optional(v.array(Header)),
});

const Argument = v.object({
  type: v.optional(v.string()),
  name: v.optional(v.string()),
  value: v.optional(v.string()),
  default: v.optional(v.string()),
  valueHint: v.optional(v.string()),
});

const Package = v.object({
  registryType: v.optional(v.string()),
  registry_name: v.optional(v.string()),
  identifier: v.optional(v.string()),
  name: v.optional(v.string()),
  version: v.optional(v.string()),
  runtimeHint: v.optional(v.string()),
  transport: v.optional(v.object({ type: v.string() })),
  runtimeArguments: v.optional(v.array(Argument)),
  packageArguments: v.optional(v.array(Argument)),
  environmentVariables: v.optional(
    v.array(v.object({ name: v.string(), value: v.optional(v.string()), default: v.optional(v.string()) })),
  ),
});

/** The fields of an MCP Registry `server.json` the import uses (the rest is ignored). */
export const ServerJson = v.object({
  name: v.pipe(v.string(), v.minLength(1)),
  title: v.optional(v.string()),
  description: v.optional(v.string()),
  version: v.optional(v.string()),
  remotes: v.optional(v.array(Remote)),
  packages: v.optional(v.array(Package)),
});
export type ServerJson = v.InferOutput<typeof ServerJson>;

/** A registry response wraps the document (`{ server: {...} }`); a plain file is the document. */
export function parseServerJson(raw: unknown): ServerJson {
  const doc =
    typeof raw === "object" && raw !== null && "server" in raw ? (raw as { server: unknown }).server : raw;
  const parsed = v.safeParse(ServerJson, doc);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue ? v.getDotPath(issue) : null;
    throw new Error(`server.json is invalid${path ? ` at ${path}` : ""}: ${issue?.message ?? "unknown"}`);
  }
  return parsed.output;
}

const REMOTE_TRANSPORT: Record<string, Exclude<FederatedTransport, "stdio">> = {
  "streamable-http": "streamable-http",
  streamable_http: "streamable-http",
  http: "streamable-http",
  sse: "sse",
};

/** How each package registry's package is run as a stdio command (the operator approves it). */
const RUNNERS: Record<string, (id: string, version?: string) => { command: string; args: string[] }> = {
  npm: (id, version) => ({ command: "npx", args: ["-y", version ? `${id}@${version}` : id] }),
  pypi: (id, version) => ({ command: "uvx", args: [version ? `${id}==${version}` : id] }),
  oci: (id, version) => ({
    command: "docker",
    args: ["run", "-i", "--rm", version ? `${id}:${version}` : id],
  }),
};

const argValues = (list: v.InferOutput<typeof Argument>[] | undefined) =>
  (list ?? []).flatMap((a) => {
    const value = a.value ?? a.default;
    if (a.type === "named" && a.name) return value === undefined ? [a.name] : [a.name, value];
    return value === undefined ? [] : [value];
  });

/** One upstream a server.json describes (its first usable remote, else its first stdio package). */
export type ImportedUpstream =
  | {
      kind: "remote";
      name: string;
      transport: Exclude<FederatedTransport, "stdio">;
      url: string;
      secretHeader: string | null;
    }
  | { kind: "stdio"; name: string; command: string; args: string[]; env: Record<string, string> };

export function upstreamFromServerJson(doc: ServerJson, prefer?: "remote" | "package"): ImportedUpstream {
  const remote = (doc.remotes ?? []).find((r) => REMOTE_TRANSPORT[r.type]);
  const pkg = (doc.packages ?? []).find(
    (p) => (p.transport?.type ?? "stdio") === "stdio" && RUNNERS[p.registryType ?? p.registry_name ?? ""],
  );
  if (remote && (prefer !== "package" || !pkg)) {
    const secret = remote.headers?.find((h) => h.isSecret || h.isRequired) ?? null;
    return {
      kind: "remote",
      name: doc.name,
      transport: REMOTE_TRANSPORT[remote.type]!,
      url: remote.url,
      secretHeader: secret?.name ?? null,
    };
  }
  if (pkg) {
    const registry = pkg.registryType ?? pkg.registry_name ?? "";
    const id = pkg.identifier ?? pkg.name ?? doc.name;
    const run = RUNNERS[registry]!(id, pkg.version);
    const command = pkg.runtimeHint ?? run.command;
    const env: Record<string, string> = {};
    for (const e of pkg.environmentVariables ?? []) {
      const value = e.value ?? e.default;
      if (value !== undefined) env[e.name] = value;
    }
    return {
      kind: "stdio",
      name: doc.name,
      command,
      args: [...argValues(pkg.runtimeArguments), ...run.args, ...argValues(pkg.packageArguments)],
      env,
    };
  }
  throw new Error(
    `server.json "${doc.name}" has no remote (streamable-http or sse) and no stdio package of npm, pypi or oci`,
  );
}

/** The operator's row for an imported upstream. */
export function operatorRow(
  imported: ImportedUpstream,
  opts: { id: string; organizationId: string | null; prefix: string },
): NewOperatorUpstream {
  return imported.kind === "remote"
    ? { ...opts, name: imported.name, transport: imported.transport, url: imported.url }
    : {
        ...opts,
        name: imported.name,
        transport: "stdio",
        command: imported.command,
        args: imported.args,
        env: imported.env,
      };
}
