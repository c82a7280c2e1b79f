import type { Command } from "@commander-js/extra-typings";
import { adminApi, call, withGateway } from "../gateway.ts";
import { err, printList } from "../output.ts";
import { examples } from "../program.ts";
import { readSecret } from "../secret-input.ts";

/** `omni services`: which servers the organization uses, their settings and secrets, over the admin API. */

const LIST_HINT = "`omni services list` shows the servers (and which secrets are set)";

export function registerServices(program: Command) {
  const services = program
    .command("services")
    .description(
      "the organization's servers: enable, disable, secrets (admin API; needs admin:read / admin:write)",
    );
  examples(services, [
    "omni services list",
    "omni services enable linear",
    "omni services set-secret linear apiKey",
  ]);

  const list = withGateway(
    services
      .command("list")
      .description("every catalogue server and its state for this organization")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const { services: rows } = await call(api.url, api.eden.api.services.get());
    printList(opts.json, rows, ["SERVER", "ENABLED", "SECRETS", "TITLE"], (s) => [
      s.name,
      s.enabled ? "yes" : "no",
      Object.keys(s.secrets).join(",") || "-",
      s.title,
    ]);
  });
  examples(list, ["omni services list", "omni services list --json"]);

  for (const enabled of [true, false]) {
    const verb = enabled ? "enable" : "disable";
    const cmd = withGateway(
      services
        .command(verb)
        .description(
          `${verb} a server for the organization (its tools ${enabled ? "appear in" : "leave"} tools/list at once)`,
        )
        .argument("<server>", "server name, e.g. linear"),
    ).action(async (server, opts) => {
      const api = adminApi(opts);
      const after = await call(api.url, api.eden.api.services({ server }).patch({ enabled }), LIST_HINT);
      process.stdout.write(`${after.name} is ${after.enabled ? "enabled" : "disabled"}\n`);
    });
    examples(cmd, [`omni services ${verb} linear`]);
  }

  const setSecret = withGateway(
    services
      .command("set-secret")
      .description(
        "set (or with --delete remove) an organization secret; the value comes from stdin or a hidden prompt",
      )
      .argument("<server>", "server name, e.g. linear")
      .argument("<name>", "secret name, e.g. apiKey")
      .option("--delete", "remove the secret instead"),
  ).action(async (server, name, opts) => {
    const api = adminApi(opts);
    if (opts.delete) {
      await call(api.url, api.eden.api.services({ server }).secrets({ name }).delete(), LIST_HINT);
      process.stdout.write(`removed ${server} secret ${name}\n`);
      return;
    }
    const value = await readSecret(`${server} ${name}`);
    const after = await call(
      api.url,
      api.eden.api.services({ server }).secrets({ name }).put({ value }),
      LIST_HINT,
    );
    process.stdout.write(
      `${err.green("✓")} ${after.name} secret ${name} set at ${after.secrets[name]?.updatedAt ?? "now"}\n`,
    );
  });
  examples(setSecret, [
    "omni services set-secret linear apiKey            # prompts, hidden",
    'printf %s "$LINEAR_API_KEY" | omni services set-secret linear apiKey',
    "omni services set-secret linear apiKey --delete",
  ]);
}
