import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Argument, type Command } from "@commander-js/extra-typings";
import { oauthConnectUrl, protectedResourceMetadataUrl } from "@omni/contracts";
import { CLIENT_IDS, CLIENTS, type ClientContext, defaultContext, mergeConfig } from "../clients.ts";
import { baseUrl, withGateway } from "../gateway.ts";
import { CliError, err, out } from "../output.ts";
import { examples } from "../program.ts";

/** `omni client-config <client>`: prints, or with --write merges, a client's MCP configuration. */

const mainPath = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * The endpoint to sign in to with OAuth, when the gateway names an authorization server in its
 * protected-resource metadata (`/mcp`, or the organization's `/mcp/o/<slug>`); null when it does not or
 * cannot be reached (the config is then written for an API key, or for none in development mode).
 */
async function discoverOAuth(base: string, org: string | undefined): Promise<string | null> {
  const metadata = await fetch(protectedResourceMetadataUrl(base, org), { signal: AbortSignal.timeout(3000) })
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  return oauthConnectUrl(metadata);
}

export function registerClientConfig(program: Command) {
  const cmd = withGateway(
    program
      .command("client-config")
      .description(
        "print (or --write: merge into the client's own file, with a backup) the MCP config for a client",
      )
      .addArgument(new Argument("<client>", "the MCP client").choices(CLIENT_IDS))
      .option(
        "--org <slug>",
        "name the entry omni-<slug>, read the key from OMNI_API_KEY_<SLUG>; without a key, the org's OAuth endpoint",
      )
      .option("--name <name>", "the entry's name in the client (default omni, or omni-<org>)")
      .option("--inline-key", "write the key itself where the client could read it from the environment")
      .option("--write", "merge into the client's config file (a .bak copy of the old file is kept)"),
  ).action(async (client, opts, command) => {
    if (opts.org !== undefined && !/^[a-z0-9][a-z0-9-]{0,47}$/.test(opts.org)) {
      command.error(
        `error: --org "${opts.org}" is not an organization slug (lowercase letters, digits, dashes)`,
        {
          exitCode: 2,
          code: "omni.usage",
        },
      );
    }
    const base = baseUrl(opts);
    const name = opts.name ?? (opts.org ? `omni-${opts.org}` : "omni");
    const keyEnv = opts.org ? `OMNI_API_KEY_${opts.org.toUpperCase().replaceAll("-", "_")}` : "OMNI_API_KEY";
    const ctx: ClientContext = {
      ...defaultContext(),
      name,
      mcpUrl: `${base}/mcp`,
      baseUrl: base,
      key: opts.key ?? (opts.org ? process.env[keyEnv] : undefined),
      keyEnv,
      inlineKey: Boolean(opts.inlineKey),
      connect: { command: process.execPath, args: [mainPath] },
    };
    const target = CLIENTS[client];
    // No key: a client that can sign in with OAuth gets the endpoint the gateway advertises for it.
    const oauth = !ctx.key && client !== "claude-desktop" ? await discoverOAuth(base, opts.org) : null;
    if (oauth) ctx.mcpUrl = oauth;
    const file = target.file(ctx);
    const keyNote = oauth
      ? "no key needed: the client signs in with OAuth on first use"
      : !ctx.key || target.inlinesKey(ctx)
        ? null
        : client === "vscode"
          ? "VS Code asks for the key once (input omni-api-key) and keeps it"
          : `the client reads the key from ${keyEnv}: export it where the client starts`;

    if (!opts.write) {
      process.stderr.write(`${err.dim(`# ${target.title}: ${file.path} (${target.docs})`)}\n`);
      if (target.command) process.stderr.write(`${err.dim(`# or: ${target.command(ctx)}`)}\n`);
      process.stdout.write(mergeConfig(file, ""));
      if (keyNote) process.stderr.write(`${err.dim(`# ${keyNote}`)}\n`);
      process.stderr.write(`${err.dim("# merge it into that file with --write")}\n`);
      return;
    }

    const existing = existsSync(file.path) ? readFileSync(file.path, "utf8") : "";
    const merged = mergeConfig(file, existing);
    if (merged === existing) {
      process.stdout.write(`${file.path} already has this ${name} entry; nothing changed\n`);
      return;
    }
    try {
      mkdirSync(dirname(file.path), { recursive: true });
      if (existing) copyFileSync(file.path, `${file.path}.bak`);
      writeFileSync(file.path, merged, target.inlinesKey(ctx) ? { mode: 0o600 } : {});
      if (target.inlinesKey(ctx)) chmodSync(file.path, 0o600);
    } catch (error) {
      throw new CliError(
        `could not write ${file.path}: ${(error as Error).message}`,
        "check the directory's permissions, or print the config (without --write) and paste it yourself",
      );
    }
    process.stdout.write(
      `${out.green("✓")} ${existing ? "updated" : "created"} ${file.path}${existing ? ` (previous version in ${file.path}.bak)` : ""}\n`,
    );
    if (keyNote) process.stderr.write(`${keyNote}\n`);
    process.stderr.write(`restart ${target.title} to pick it up\n`);
  });
  examples(cmd, [
    "omni client-config cursor                    # print the snippet for ~/.cursor/mcp.json",
    "omni client-config vscode --write            # merge into .vscode/mcp.json (key asked by VS Code)",
    "omni client-config claude-desktop --write    # stdio through omni connect",
    "omni client-config codex --org acme --write  # [mcp_servers.omni-acme], key from OMNI_API_KEY_ACME",
  ]);
}
