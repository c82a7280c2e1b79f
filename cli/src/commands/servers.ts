import { readFileSync } from "node:fs";
import { type Command, Option } from "@commander-js/extra-typings";
import { ConflictError, createRepositories, type FederatedServer, newId, type Repositories } from "@omni/db";
import {
  defaultPrefix,
  type ImportedUpstream,
  operatorRow,
  operatorSecretBox,
  parseServerJson,
  prefixProblem,
  sealUpstreamSecret,
  upstreamFromServerJson,
} from "@omni/gateway/federation";
import { requireMigrated, usingDatabase, withDatabase } from "../database.ts";
import { CliError, EXIT, out, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/**
 * `omni servers add|list|remove`: federated upstream MCP servers, straight in the database (the
 * operator's path). Only here can a stdio command (a process on the gateway's host) or a global upstream
 * (offered to every org) be defined; org admins register remote upstreams through /api/federation. A
 * running gateway picks changes up within FEDERATION_RELOAD_MS.
 */

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The `servers` command, shared with other `servers` subcommands (e.g. `servers policy`). */
function serversCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === "servers");
  if (existing) return existing as unknown as Command;
  const servers = program.command("servers").description("MCP servers behind the gateway (operators)");
  examples(servers, [
    "omni servers add --from ./server.json --prefix weather",
    "omni servers add docs --url https://mcp.example.com/mcp --prefix docs --org acme --auth-header Authorization --auth-secret-env DOCS_TOKEN",
    "omni servers add everything --command npx --arg -y --arg @modelcontextprotocol/server-everything --prefix every",
    "omni servers list --json",
    "omni servers remove every",
  ]);
  return servers as unknown as Command;
}

/** A server.json from a file, or from a registry URL (`{server}`, `{servers: [one]}` or the document). */
async function readServerJson(from: string): Promise<unknown> {
  if (/^https?:\/\//i.test(from)) {
    const response = await fetch(from, { headers: { accept: "application/json" } }).catch(
      (error: unknown) => {
        throw new CliError(`cannot fetch ${from}: ${error instanceof Error ? error.message : error}`);
      },
    );
    if (!response.ok) throw new CliError(`${from} answered HTTP ${response.status}`);
    const body = (await response.json().catch(() => null)) as unknown;
    if (body && typeof body === "object" && "servers" in body && Array.isArray(body.servers)) {
      if (body.servers.length !== 1) {
        throw new CliError(
          `${from} lists ${body.servers.length} servers`,
          "give the URL of one server (e.g. /v0/servers/<id>) or a server.json file",
        );
      }
      return body.servers[0];
    }
    return body;
  }
  try {
    return JSON.parse(readFileSync(from, "utf8"));
  } catch (error) {
    throw new CliError(`cannot read ${from}: ${error instanceof Error ? error.message : error}`);
  }
}

async function orgIdOf(repos: Repositories, org: string | undefined): Promise<string | null> {
  if (!org) return null;
  const found = (await repos.organizations.getBySlug(org)) ?? (await repos.organizations.get(org));
  if (!found) throw new CliError(`no organization "${org}"`, "omni orgs list shows them");
  return found.id;
}

/** A row as printed: the sealed secret's envelope is never shown. */
const shown = (row: FederatedServer) => ({ ...row, authSecret: row.authSecret ? "(sealed)" : null });

const target = (row: Pick<FederatedServer, "transport" | "command" | "args" | "url">) =>
  row.transport === "stdio" ? [row.command, ...row.args].join(" ") : (row.url ?? "");

export function registerServers(program: Command) {
  const servers = serversCommand(program);

  withDatabase(
    servers
      .command("add")
      .description(
        "register an upstream MCP server: remote (--url), a stdio command (--command), or from a server.json (--from)",
      )
      .argument("[name]", "display name (default: the server.json name)")
      .option("--from <file|url>", "an MCP Registry server.json file, or a registry URL that returns one")
      .addOption(
        new Option("--prefer <kind>", "with --from, when it has both: the remote or the package").choices([
          "remote",
          "package",
        ]),
      )
      .option("--url <url>", "remote upstream's MCP endpoint")
      .addOption(
        new Option("--transport <transport>", "remote transport (default streamable-http)").choices([
          "streamable-http",
          "sse",
        ]),
      )
      .option("--command <command>", "stdio upstream: the command to run on the gateway's host")
      .option("--arg <arg>", "stdio: an argument (repeat)", collect)
      .option("--env <KEY=VALUE>", "stdio: an environment variable (repeat)", collect)
      .option("--prefix <prefix>", "namespace of its tools and prompts (default: from the name)")
      .option("--org <slug>", "only for this organization (default: every organization)")
      .option("--auth-header <name>", "remote: header carrying the secret (e.g. Authorization)")
      .option("--auth-secret-env <VAR>", "remote: read the header's value from this environment variable")
      .option("--json", "print the new row (without the secret) as JSON"),
  ).action(async (nameArg, opts, cmd) => {
    const usage = (message: string) =>
      cmd.error(`error: ${message}`, { exitCode: EXIT.usage, code: "omni.usage" });
    const kinds = [opts.from, opts.url, opts.command].filter(Boolean).length;
    if (kinds !== 1) usage("give exactly one of --from, --url or --command");
    let imported: ImportedUpstream;
    if (opts.from) {
      try {
        imported = upstreamFromServerJson(parseServerJson(await readServerJson(opts.from)), opts.prefer);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(error instanceof Error ? error.message : String(error));
      }
    } else if (opts.url) {
      if (!URL.canParse(opts.url) || !/^https?:/i.test(opts.url))
        usage(`--url "${opts.url}" is not an http(s) URL`);
      imported = {
        kind: "remote",
        name: nameArg ?? opts.url,
        transport: opts.transport ?? "streamable-http",
        url: opts.url,
        secretHeader: null,
      };
    } else {
      const env: Record<string, string> = {};
      for (const pair of opts.env ?? []) {
        const eq = pair.indexOf("=");
        if (eq <= 0) usage(`--env "${pair}" is not KEY=VALUE`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      imported = {
        kind: "stdio",
        name: nameArg ?? opts.command!,
        command: opts.command!,
        args: opts.arg ?? [],
        env,
      };
    }
    if (nameArg) imported = { ...imported, name: nameArg };
    const header = opts.authHeader ?? (imported.kind === "remote" ? imported.secretHeader : null);
    if (opts.authSecretEnv && !header)
      usage("--auth-secret-env needs --auth-header (or a secret header in server.json)");
    if (opts.authHeader && imported.kind === "stdio") usage("--auth-header is for remote upstreams");
    const secret = opts.authSecretEnv ? process.env[opts.authSecretEnv] : undefined;
    if (opts.authSecretEnv && !secret) usage(`environment variable ${opts.authSecretEnv} is empty`);
    const prefix = opts.prefix ?? defaultPrefix(imported.name);

    const row = await usingDatabase(opts, async (handle) => {
      await requireMigrated(handle, opts);
      const repos = createRepositories(handle.db);
      const organizationId = await orgIdOf(repos, opts.org);
      const problem = prefixProblem(prefix, organizationId, {
        builtinTools: [],
        builtinServers: (await repos.servers.list()).map((s) => s.name),
        upstreams: await repos.federation.operatorList(),
      });
      if (problem) throw new CliError(problem, "pass another --prefix");
      const id = newId("fed");
      const sealed =
        header && secret
          ? {
              authHeader: header,
              authSecret: sealUpstreamSecret(
                operatorSecretBox(process.env),
                { id, organizationId },
                header,
                secret,
              ),
            }
          : {};
      try {
        return await repos.federation.operatorCreate({
          ...operatorRow(imported, { id, organizationId, prefix }),
          ...sealed,
        });
      } catch (error) {
        if (error instanceof ConflictError) throw new CliError(error.message, "pass another --prefix");
        throw error;
      }
    });
    if (opts.json) printJson(shown(row));
    else {
      process.stdout.write(
        `${out.green("added")} ${row.prefix} (${row.transport}: ${target(row)}) for ${row.organizationId ?? "every organization"}\n`,
      );
      if (row.transport === "stdio") {
        process.stdout.write(
          `${out.dim("this command runs on the gateway's host for each organization that uses it")}\n`,
        );
      }
    }
  });

  withDatabase(
    servers
      .command("list")
      .description("every federated upstream (all organizations)")
      .option("--org <slug>", "only those this organization sees (its own and the global ones)")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const rows = await usingDatabase(opts, async (handle) => {
      await requireMigrated(handle, opts);
      const repos = createRepositories(handle.db);
      const orgId = await orgIdOf(repos, opts.org);
      return orgId ? repos.federation.listVisible(orgId) : repos.federation.operatorList();
    });
    printList(
      opts.json,
      rows.map(shown),
      ["ID", "PREFIX", "NAME", "SCOPE", "TRANSPORT", "TARGET", "AUTH"],
      (r) => [
        r.id,
        r.prefix,
        r.name,
        r.organizationId ?? "global",
        r.transport,
        target(r),
        r.authHeader ?? "",
      ],
      "(no federated servers; add one with omni servers add)",
    );
  });

  withDatabase(
    servers
      .command("remove")
      .description("remove a federated upstream (by id, or by prefix with --org for an org's own)")
      .argument("<id-or-prefix>", "the row id (fed_...) or its prefix")
      .option("--org <slug>", "the organization whose upstream the prefix names (default: the global one)"),
  ).action(async (key, opts) => {
    const removed = await usingDatabase(opts, async (handle) => {
      await requireMigrated(handle, opts);
      const repos = createRepositories(handle.db);
      const orgId = await orgIdOf(repos, opts.org);
      const row = (await repos.federation.operatorList()).find(
        (r) => r.id === key || (r.prefix === key && r.organizationId === orgId),
      );
      if (!row)
        throw new CliError(
          `no federated server "${key}"${opts.org ? ` in ${opts.org}` : " (global)"}`,
          "omni servers list shows them",
        );
      await repos.federation.operatorRemove(row.id);
      return row;
    });
    process.stdout.write(`${out.green("removed")} ${removed.prefix} (${removed.id})\n`);
  });
}
