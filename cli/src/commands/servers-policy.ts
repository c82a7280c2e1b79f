import { readFileSync } from "node:fs";
import type { Command } from "@commander-js/extra-typings";
import { type PolicyScope, ToolPolicyBody } from "@omni/contracts";
import * as v from "valibot";
import { adminApi, call, withGateway } from "../gateway.ts";
import { CliError, err, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/**
 * `omni servers policy`: the organization's tool policy (per org and per role: allow/deny, rename,
 * description) and its bundles (`/mcp/b/<slug>`), over the admin API (admin:read / admin:write).
 */

const SCOPES: readonly PolicyScope[] = ["org", "member", "admin", "owner"];
const POLICY_HINT = "`omni servers policy show` lists the policies and every tool with the roles that see it";
const BUNDLE_HINT = "`omni servers policy bundles` lists the bundles";

function scopeOf(value: string): PolicyScope {
  if ((SCOPES as readonly string[]).includes(value)) return value as PolicyScope;
  throw new CliError(`unknown scope "${value}"`, `use one of ${SCOPES.join(", ")}`, 2);
}

/** `a,b c` and repeated flags → one list of names. */
function names(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(/[\s,]+/)).filter(Boolean);
}

/** `tool=value` pairs (`--rename`, `--describe`). */
function pairs(values: string[] | undefined, flag: string): [string, string][] {
  return (values ?? []).map((value) => {
    const at = value.indexOf("=");
    if (at <= 0) throw new CliError(`${flag} takes tool=value, got "${value}"`, undefined, 2);
    return [value.slice(0, at), value.slice(at + 1)];
  });
}

/** The body of `policy set`: from `--from <file.json>`, or from the flags. Checked before it is sent. */
function policyBody(opts: {
  from?: string | undefined;
  allow?: string[] | undefined;
  deny?: string[] | undefined;
  rename?: string[] | undefined;
  describe?: string[] | undefined;
}): ToolPolicyBody {
  let raw: unknown;
  if (opts.from) {
    try {
      raw = JSON.parse(readFileSync(opts.from, "utf8"));
    } catch (error) {
      throw new CliError(
        `cannot read ${opts.from}: ${error instanceof Error ? error.message : error}`,
        undefined,
        2,
      );
    }
  } else {
    if (opts.allow && opts.deny) throw new CliError("give --allow or --deny, not both", undefined, 2);
    const overrides = new Map<string, { tool: string; name?: string; description?: string }>();
    const of = (tool: string) => overrides.get(tool) ?? overrides.set(tool, { tool }).get(tool)!;
    for (const [tool, name] of pairs(opts.rename, "--rename")) of(tool).name = name;
    for (const [tool, description] of pairs(opts.describe, "--describe")) of(tool).description = description;
    raw = {
      mode: opts.allow ? "allow" : "deny",
      tools: names(opts.allow ?? opts.deny),
      overrides: [...overrides.values()],
    };
  }
  const parsed = v.safeParse(ToolPolicyBody, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0]!;
    throw new CliError(`invalid policy: ${v.getDotPath(issue) ?? "body"}: ${issue.message}`, undefined, 2);
  }
  return parsed.output;
}

/** The `servers` command (created here unless another command file made it first). */
function serversCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === "servers");
  return (existing ??
    program
      .command("servers")
      .description("MCP servers behind the gateway and the tools each team sees")) as Command;
}

export function registerServersPolicy(program: Command) {
  const policy = serversCommand(program)
    .command("policy")
    .description(
      "which tools each role sees (allow/deny, rename, description) and bundles served at /mcp/b/<slug>",
    );
  examples(policy, [
    "omni servers policy show",
    "omni servers policy set org --deny 'devtools_*'",
    "omni servers policy set member --allow linear_search_issues,perplexity_search --rename perplexity_search=web_search",
    "omni servers policy bundle-add support --tools 'linear_*' --discovery",
  ]);

  const show = withGateway(
    policy
      .command("show")
      .description("the policies, and every tool with the roles that see it")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const listed = await call(api.url, api.eden.api["tool-policies"].get());
    if (opts.json) return printJson(listed);
    printList(
      false,
      listed.policies,
      ["SCOPE", "MODE", "TOOLS", "OVERRIDES"],
      (p) => [
        p.scope,
        p.mode,
        p.tools.join(",") || "-",
        p.overrides.map((o) => (o.name ? `${o.tool}→${o.name}` : o.tool)).join(",") || "-",
      ],
      "no policy: every role sees every tool of the enabled servers",
    );
    process.stdout.write("\n");
    printList(false, listed.tools, ["TOOL", "SERVER", "VISIBLE TO"], (t) => [
      t.tool,
      t.server,
      t.visibleTo.join(",") || "nobody",
    ]);
    for (const c of listed.conflicts)
      process.stderr.write(`${err.yellow("!")} ${c.tool} → ${c.name}: ${c.reason}\n`);
  });
  examples(show, ["omni servers policy show", "omni servers policy show --json"]);

  const set = withGateway(
    policy
      .command("set")
      .description("replace the policy of the organization (org) or of one role (member, admin, owner)")
      .argument("<scope>", SCOPES.join(" | "))
      .option("--allow <patterns...>", "only these tools (names or patterns with *)")
      .option("--deny <patterns...>", "every tool but these")
      .option("--rename <tool=name...>", "the name clients see and call instead")
      .option("--describe <tool=text...>", "the description clients see")
      .option("--from <file>", "the whole policy as JSON ({mode, tools, overrides})"),
  ).action(async (scopeArg, opts) => {
    const scope = scopeOf(scopeArg);
    const body = policyBody(opts);
    const api = adminApi(opts);
    const after = await call(api.url, api.eden.api["tool-policies"]({ scope }).put(body), POLICY_HINT);
    process.stdout.write(
      `${err.green("✓")} ${after.scope} policy: ${after.mode} ${after.tools.join(",") || "(none)"}, ${after.overrides.length} override(s)\n`,
    );
  });
  examples(set, [
    "omni servers policy set org --deny 'devtools_*'",
    "omni servers policy set member --allow 'linear_*' --describe linear_search_issues='Search our tracker'",
    "omni servers policy set admin --from policy.json",
  ]);

  const clear = withGateway(
    policy.command("clear").description("remove a scope's policy").argument("<scope>", SCOPES.join(" | ")),
  ).action(async (scopeArg, opts) => {
    const scope = scopeOf(scopeArg);
    const api = adminApi(opts);
    await call(api.url, api.eden.api["tool-policies"]({ scope }).delete(), POLICY_HINT);
    process.stdout.write(`removed the ${scope} policy\n`);
  });
  examples(clear, ["omni servers policy clear member"]);

  const bundles = withGateway(
    policy
      .command("bundles")
      .description("the organization's bundles and their endpoints")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const { bundles: rows } = await call(api.url, api.eden.api.bundles.get());
    printList(
      opts.json,
      rows,
      ["SLUG", "PATH", "TOOLS", "DISCOVERY"],
      (b) => [b.slug, b.path, b.tools?.join(",") ?? "all", b.discovery ? "yes" : "no"],
      "no bundles yet: `omni servers policy bundle-add <slug>`",
    );
  });
  examples(bundles, ["omni servers policy bundles"]);

  const add = withGateway(
    policy
      .command("bundle-add")
      .description("create a bundle (a virtual server) served at /mcp/b/<slug>")
      .argument("<slug>", "lowercase letters, digits and -")
      .option("--title <title>", "its title")
      .option("--tools <patterns...>", "its tools (default: every tool the policy allows)")
      .option("--prompts <patterns...>", "its prompts (default: all)")
      .option("--resources <patterns...>", "its resource URIs (default: all)")
      .option("--discovery", "list search_tools and call_tool instead of every tool"),
  ).action(async (slug, opts) => {
    const api = adminApi(opts);
    const list = (values: string[] | undefined) => (values ? names(values) : null);
    const created = await call(
      api.url,
      api.eden.api.bundles.post({
        slug,
        ...(opts.title ? { title: opts.title } : {}),
        tools: list(opts.tools),
        prompts: list(opts.prompts),
        resources: list(opts.resources),
        discovery: opts.discovery === true,
      }),
    );
    process.stdout.write(
      `${err.green("✓")} bundle ${created.slug}: connect clients to ${api.url}${created.path}\n`,
    );
  });
  examples(add, [
    "omni servers policy bundle-add support --tools 'linear_*' perplexity_search",
    "omni servers policy bundle-add everything --discovery",
  ]);

  const remove = withGateway(
    policy
      .command("bundle-remove")
      .description("delete a bundle (its endpoint answers 404 at once)")
      .argument("<slug>"),
  ).action(async (slug, opts) => {
    const api = adminApi(opts);
    await call(api.url, api.eden.api.bundles({ slug }).delete(), BUNDLE_HINT);
    process.stdout.write(`removed bundle ${slug}\n`);
  });
  examples(remove, ["omni servers policy bundle-remove support"]);
}
