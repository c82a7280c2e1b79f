import { Argument, type Command } from "@commander-js/extra-typings";
import { adminApi, call, withGateway } from "../gateway.ts";
import { CliError, printList } from "../output.ts";
import { examples } from "../program.ts";

/** `omni members`: the organization's members and their roles, over the admin API. */

const ROLES = ["owner", "admin", "member"] as const;

export function registerMembers(program: Command) {
  const members = program
    .command("members")
    .description("members and roles (admin API; needs members:read / members:write)");
  examples(members, ["omni members list", "omni members set-role alice@acme.test admin"]);

  const list = withGateway(
    members.command("list").description("list members").option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const rows = await call(api.url, api.eden.api.members.get());
    printList(opts.json, rows, ["ID", "EMAIL", "NAME", "ROLE", "SINCE"], (m) => [
      m.id,
      m.email,
      m.name,
      m.role,
      m.createdAt.slice(0, 10),
    ]);
  });
  examples(list, ["omni members list", "omni members list --json"]);

  const setRole = withGateway(
    members
      .command("set-role")
      .description("change a member's role (an organization keeps at least one owner)")
      .argument("<member>", "membership id or email")
      .addArgument(new Argument("<role>", "the new role").choices(ROLES)),
  ).action(async (member, role, opts) => {
    const api = adminApi(opts);
    let id = member;
    if (member.includes("@")) {
      const all = await call(api.url, api.eden.api.members.get());
      const match = all.find((m) => m.email.toLowerCase() === member.toLowerCase());
      if (!match)
        throw new CliError(`no member with email ${member} in this organization`, "see `omni members list`");
      id = match.id;
    }
    const after = await call(
      api.url,
      api.eden.api.members({ id }).patch({ role }),
      "see `omni members list`",
    );
    process.stdout.write(`${after.email} is now ${after.role}\n`);
  });
  examples(setRole, [
    "omni members set-role alice@acme.test admin",
    "omni members set-role mem_01h... member",
  ]);
}
