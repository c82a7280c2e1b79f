import type { Command } from "@commander-js/extra-typings";
import { CreateServerInstanceBody, type ServerInstanceStatus } from "@omni/contracts";
import * as v from "valibot";
import { call } from "../gateway.ts";
import { operatorApi, withOperator } from "../operator.ts";
import { CliError, EXIT, err, out, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/**
 * `omni servers instances list|add|drain|undrain|remove`: the domain servers' instances (the
 * `server_instances` rows every gateway replica follows live), over the gateway's operator API with the
 * deployment's operator token (`OMNI_OPERATOR_TOKEN`; an organization's API key is refused there).
 */

const LIST_HINT = "`omni servers instances list` shows every instance with its id";

/** What to do after each refusal of the operator API. */
const HINTS = {
  401: "pass the gateway's operator token: --token or OMNI_OPERATOR_TOKEN (not an API key)",
  403: "org API keys cannot change instances; use the operator token, and set OMNI_OPERATOR_TOKEN on the gateway if its operator API is off",
  404: LIST_HINT,
  409: LIST_HINT,
  422: "`omni servers instances list` shows the servers and their instances; a new server's first instance goes in the gateway's SERVERS",
};

/** The one word for an instance's state on the replica that answered. */
function state(i: ServerInstanceStatus): string {
  if (i.source === "removed") return "removing";
  if (!i.live) return "pending";
  if (i.live.draining) return "draining";
  return i.live.healthy ? "healthy" : "down";
}

const calls = (i: ServerInstanceStatus) => i.live?.outstanding ?? 0;

/** An id (`ins_...`), or the URL of exactly one instance (`--server` tells servers apart). */
async function resolveId(
  api: ReturnType<typeof operatorApi>,
  key: string,
  server: string | undefined,
): Promise<string> {
  if (!/^https?:\/\//i.test(key)) return key;
  const wanted = key.replace(/\/+$/, "");
  const { instances } = await call(api.url, api.eden.instances.get(), HINTS);
  const matches = instances.filter((i) => i.url === wanted && (!server || i.server === server));
  const row = matches.find((i) => i.id !== null);
  if (matches.length === 0) throw new CliError(`no instance at ${wanted}`, LIST_HINT);
  if (matches.length > 1)
    throw new CliError(`several servers have an instance at ${wanted}`, "pass its id, or --server <name>");
  if (!row)
    throw new CliError(
      `the instance at ${wanted} comes from the gateway's SERVERS (${matches[0]?.source})`,
      "change SERVERS and restart the gateway to take it out",
    );
  return row.id!;
}

/** The `servers` command (created here unless another command file made it first). */
function serversCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === "servers");
  return (existing ??
    program.command("servers").description("MCP servers behind the gateway (operators)")) as Command;
}

export function registerServersInstances(program: Command) {
  const instances = serversCommand(program)
    .command("instances")
    .description(
      "instances of the domain servers, followed live by every gateway replica (operator token: OMNI_OPERATOR_TOKEN)",
    );
  examples(instances, [
    "export OMNI_OPERATOR_TOKEN=...   # the gateway's (bun run dev: read from .data/operator.token)",
    "omni servers instances list",
    "omni servers instances add linear http://10.0.0.7:3001",
    "omni servers instances drain http://10.0.0.7:3001",
    "omni servers instances remove ins_0123...",
  ]);

  const list = withOperator(
    instances
      .command("list")
      .description("every instance (rows, SERVERS, being removed) with the answering replica's live health")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = operatorApi(opts);
    const { instances: rows } = await call(api.url, api.eden.instances.get(), HINTS);
    printList(
      opts.json,
      rows,
      ["ID", "SERVER", "URL", "SOURCE", "STATE", "CALLS", "VERSION", "ERROR"],
      (i) => [
        i.id ?? "-",
        i.server,
        i.url,
        i.source,
        state(i),
        calls(i),
        i.live?.version ?? "",
        i.live?.lastError ?? "",
      ],
      "(no instances; add one with omni servers instances add <server> <url>)",
    );
  });
  examples(list, [
    "omni servers instances list",
    "omni servers instances list --json | jq '.[] | {url, live}'",
  ]);

  const add = withOperator(
    instances
      .command("add")
      .description(
        "add an instance of a catalogue server: every replica routes to it once it answers health checks",
      )
      .argument("<server>", "the server's name, e.g. linear")
      .argument("<url>", "the instance's base URL, e.g. http://10.0.0.7:3001")
      .option("--json", "print the new instance as JSON"),
  ).action(async (server, url, opts) => {
    const parsed = v.safeParse(CreateServerInstanceBody, { server, url });
    if (!parsed.success) {
      const issue = parsed.issues[0]!;
      throw new CliError(
        `${v.getDotPath(issue) ?? "argument"}: ${issue.message}`,
        "see `omni servers instances add --help`",
        EXIT.usage,
      );
    }
    const api = operatorApi(opts);
    const row = await call(api.url, api.eden.instances.post(parsed.output), HINTS);
    if (opts.json) return printJson(row);
    process.stdout.write(
      `${out.green("added")} ${row.id} ${row.server} ${row.url} (${state(row)} on this replica)\n`,
    );
    process.stdout.write(
      `${out.dim("every gateway replica routes to it within SERVER_INSTANCES_POLL_MS, once it answers health checks")}\n`,
    );
    if (row.live && !row.live.healthy) {
      process.stderr.write(
        `${err.yellow("!")} it does not answer health checks yet${row.live.lastError ? `: ${row.live.lastError}` : ""}\n  check that it runs with the gateway's OMNI_INTERNAL_TOKEN and is reachable from the gateway\n`,
      );
    }
  });
  examples(add, [
    "omni servers instances add linear http://10.0.0.7:3001",
    "omni servers instances add devtools https://devtools-2.internal:3003 --json",
  ]);

  const drain = withOperator(
    instances
      .command("drain")
      .description("take an instance out of service: no new calls on any replica, the calls in flight finish")
      .argument("<id-or-url>", "the instance's id (ins_...) or URL")
      .option("--server <name>", "with a URL: the server whose instance it is")
      .option("--json", "print the instance as JSON"),
  ).action(async (key, opts) => {
    const api = operatorApi(opts);
    const id = await resolveId(api, key, opts.server);
    const row = await call(api.url, api.eden.instances({ id }).drain.post(), HINTS);
    if (opts.json) return printJson(row);
    process.stdout.write(
      `${out.yellow("draining")} ${row.id} ${row.server} ${row.url}: no new calls; ${calls(row)} in flight on this replica finish\n`,
    );
    process.stdout.write(
      `${out.dim(`\`omni servers instances list\` shows its calls; then \`remove ${row.id}\`, or \`undrain ${row.id}\` to put it back`)}\n`,
    );
  });
  examples(drain, [
    "omni servers instances drain ins_0123...",
    "omni servers instances drain http://10.0.0.7:3001",
  ]);

  const undrain = withOperator(
    instances
      .command("undrain")
      .description("put a drained instance back in service")
      .argument("<id-or-url>", "the instance's id (ins_...) or URL")
      .option("--server <name>", "with a URL: the server whose instance it is")
      .option("--json", "print the instance as JSON"),
  ).action(async (key, opts) => {
    const api = operatorApi(opts);
    const id = await resolveId(api, key, opts.server);
    const row = await call(api.url, api.eden.instances({ id }).undrain.post(), HINTS);
    if (opts.json) return printJson(row);
    process.stdout.write(`${out.green("in service")} ${row.id} ${row.server} ${row.url} (${state(row)})\n`);
  });
  examples(undrain, ["omni servers instances undrain ins_0123..."]);

  const remove = withOperator(
    instances
      .command("remove")
      .description(
        "remove an instance: every replica stops sending it calls, lets those in flight finish, drops it",
      )
      .argument("<id-or-url>", "the instance's id (ins_...) or URL")
      .option("--server <name>", "with a URL: the server whose instance it is")
      .option("--json", "print the removed instance as JSON"),
  ).action(async (key, opts) => {
    const api = operatorApi(opts);
    const id = await resolveId(api, key, opts.server);
    const row = await call(api.url, api.eden.instances({ id }).delete(), HINTS);
    if (opts.json) return printJson(row);
    process.stdout.write(
      `${out.green("removed")} ${id} ${row.server} ${row.url}: ${calls(row)} call(s) in flight on this replica finish first (up to 30 s)\n`,
    );
  });
  examples(remove, [
    "omni servers instances remove ins_0123...",
    "omni servers instances remove http://10.0.0.7:3001",
  ]);
}
