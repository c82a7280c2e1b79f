import type { Command } from "@commander-js/extra-typings";
import { adminApi, call, withGateway } from "../gateway.ts";
import { CliError, err, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/** `omni audit`: the organization's hash-chained audit log, over the admin API (needs audit:read). */

export function registerAudit(program: Command) {
  const audit = program.command("audit").description("the audit log (admin API; needs audit:read)");
  examples(audit, ["omni audit list --limit 20", "omni audit verify"]);

  const list = withGateway(
    audit
      .command("list")
      .description("recent entries, newest first")
      .option("--limit <n>", "how many (1-1000)", "50")
      .option("--before <seq>", "entries before this sequence number (paging)")
      .option("--action <action>", "only this action, e.g. api_key.create or tool.call")
      .option("--json", "print JSON"),
  ).action(async (opts, cmd) => {
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
    const api = adminApi(opts);
    const page = await call(
      api.url,
      api.eden.api.audit.get({
        query: {
          limit: Number(opts.limit),
          ...(opts.before ? { before: Number(opts.before) } : {}),
          ...(opts.action ? { action: opts.action } : {}),
        },
      }),
    );
    printList(opts.json, page, ["SEQ", "WHEN", "ACTOR", "ACTION", "TARGET"], (e) => [
      e.seq,
      e.createdAt.slice(0, 19).replace("T", " "),
      e.actor,
      e.action,
      e.targetType ? `${e.targetType}:${e.targetId ?? ""}` : "",
    ]);
  });
  examples(list, ["omni audit list --limit 20", "omni audit list --action api_key.revoke --json"]);

  const verify = withGateway(
    audit
      .command("verify")
      .description("check the hash chain; exit 1 when it is broken")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const result = await call(api.url, api.eden.api.audit.verify.get());
    if (opts.json) printJson(result);
    if (!result.ok) {
      throw new CliError(
        `the audit chain has ${result.totalBreaks} broken link(s) in ${result.checked} entries: ${result.breaks
          .slice(0, 10)
          .map((b) => `${b.seq} (${b.reason})`)
          .join(", ")}${result.totalBreaks > 10 ? ", ..." : ""}`,
        "entries were edited, deleted or reordered in the database: investigate who had write access (--json lists every break)",
      );
    }
    if (!opts.json)
      process.stdout.write(`${err.green("✓")} audit chain intact (${result.checked} entries checked)\n`);
  });
  examples(verify, ["omni audit verify"]);
}
