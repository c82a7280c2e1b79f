import type { Command } from "@commander-js/extra-typings";
import type { AuditEntryDto, AuditVerifyResult } from "@omni/contracts";
import { adminApi, call, withGateway } from "../gateway.ts";
import { operatorApi, withOperator } from "../operator.ts";
import { CliError, err, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/**
 * `omni audit`: the organization's hash-chained audit log, over the admin API (needs audit:read);
 * `omni audit deployment`: the deployment's own chain (instances added, drained, removed), over the
 * operator API (the operator token).
 */

/** `--limit`, `--before`, `--action` and `--json` of a list command. */
function listOptions(cmd: Command) {
  return cmd
    .option("--limit <n>", "how many (1-1000)", "50")
    .option("--before <seq>", "entries before this sequence number (paging)")
    .option("--action <action>", "only this action, e.g. api_key.create or tool.call")
    .option("--json", "print JSON");
}

/** The list query from checked options (exit 2 naming the option otherwise). */
function listQuery(
  opts: { limit: string; before?: string | undefined; action?: string | undefined },
  cmd: Command,
): { limit: number; before?: number; action?: string } {
  if (!/^\d{1,4}$/.test(opts.limit) || Number(opts.limit) < 1 || Number(opts.limit) > 1000) {
    cmd.error(`error: --limit must be a whole number from 1 to 1000, got "${opts.limit}"`, {
      exitCode: 2,
      code: "omni.usage",
    });
  }
  if (opts.before !== undefined && !/^\d{1,15}$/.test(opts.before)) {
    cmd.error(`error: --before must be a sequence number, got "${opts.before}"`, {
      exitCode: 2,
      code: "omni.usage",
    });
  }
  return {
    limit: Number(opts.limit),
    ...(opts.before ? { before: Number(opts.before) } : {}),
    ...(opts.action ? { action: opts.action } : {}),
  };
}

function printEntries(json: boolean | undefined, page: AuditEntryDto[]): void {
  printList(json, page, ["SEQ", "WHEN", "ACTOR", "ACTION", "TARGET"], (e) => [
    e.seq,
    // (Eden may hand ISO timestamps over as Dates.)
    new Date(e.createdAt).toISOString().slice(0, 19).replace("T", " "),
    e.actor,
    e.action,
    e.targetType ? `${e.targetType}:${e.targetId ?? ""}` : "",
  ]);
}

/** Prints a verification; a broken chain is an error (exit 1) naming its first breaks. */
function reportVerify(json: boolean | undefined, result: AuditVerifyResult, chain: string): void {
  if (json) printJson(result);
  if (!result.ok) {
    throw new CliError(
      `the ${chain} has ${result.totalBreaks} broken link(s) in ${result.checked} entries: ${result.breaks
        .slice(0, 10)
        .map((b) => `${b.seq} (${b.reason})`)
        .join(", ")}${result.totalBreaks > 10 ? ", ..." : ""}`,
      "entries were edited, deleted or reordered in the database: investigate who had write access (--json lists every break)",
    );
  }
  if (!json) process.stdout.write(`${err.green("✓")} ${chain} intact (${result.checked} entries checked)\n`);
}

export function registerAudit(program: Command) {
  const audit = program.command("audit").description("the audit log (admin API; needs audit:read)");
  examples(audit, ["omni audit list --limit 20", "omni audit verify", "omni audit deployment list"]);

  const list = withGateway(listOptions(audit.command("list").description("recent entries, newest first")));
  list.action(async (opts, cmd) => {
    const api = adminApi(opts);
    const page = await call(api.url, api.eden.api.audit.get({ query: listQuery(opts, cmd) }));
    printEntries(opts.json, page);
  });
  examples(list, ["omni audit list --limit 20", "omni audit list --action api_key.revoke --json"]);

  const verify = withGateway(
    audit
      .command("verify")
      .description("check the hash chain; exit 1 when it is broken")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    reportVerify(opts.json, await call(api.url, api.eden.api.audit.verify.get()), "audit chain");
  });
  examples(verify, ["omni audit verify"]);

  const deployment = audit
    .command("deployment")
    .description(
      "the deployment's audit chain: instances added, drained, removed (operator token: OMNI_OPERATOR_TOKEN)",
    );
  examples(deployment, [
    "export OMNI_OPERATOR_TOKEN=...   # the gateway's (bun run dev: read from .data/operator.token)",
    "omni audit deployment list --limit 20",
    "omni audit deployment verify",
  ]);
  const HINTS = {
    401: "pass the gateway's operator token: --token or OMNI_OPERATOR_TOKEN (not an API key)",
    403: "org API keys cannot read the deployment's chain; use the operator token, and set OMNI_OPERATOR_TOKEN on the gateway if its operator API is off",
  };
  const deploymentList = withOperator(
    listOptions(deployment.command("list").description("recent entries, newest first")),
  );
  deploymentList.action(async (opts, cmd) => {
    const api = operatorApi(opts);
    printEntries(opts.json, await call(api.url, api.eden.audit.get({ query: listQuery(opts, cmd) }), HINTS));
  });
  examples(deploymentList, [
    "omni audit deployment list",
    "omni audit deployment list --action server_instance.drain --json",
  ]);
  const deploymentVerify = withOperator(
    deployment
      .command("verify")
      .description("check the deployment's hash chain; exit 1 when it is broken")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = operatorApi(opts);
    reportVerify(
      opts.json,
      await call(api.url, api.eden.audit.verify.get(), HINTS),
      "deployment audit chain",
    );
  });
  examples(deploymentVerify, ["omni audit deployment verify"]);
}
