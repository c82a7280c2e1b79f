import { Command } from "@commander-js/extra-typings";
import pkg from "../package.json" with { type: "json" };
import { registerAudit } from "./commands/audit.ts";
import { registerClientConfig } from "./commands/client-config.ts";
import { registerConnect } from "./commands/connect.ts";
import { registerDb } from "./commands/db.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerMembers } from "./commands/members.ts";
import { registerNewServer } from "./commands/new-server.ts";
import { registerOrgs } from "./commands/orgs.ts";
import { registerPlayground } from "./commands/playground.ts";
import { registerPrompts } from "./commands/prompts.ts";
import { registerServers } from "./commands/servers.ts";
import { registerServersInstances } from "./commands/servers-instances.ts";
import { registerServersPolicy } from "./commands/servers-policy.ts";
import { registerServices } from "./commands/services.ts";
import { registerSessions } from "./commands/sessions.ts";
import { ENV_HELP } from "./env.ts";

/** Appends an "Examples:" block to a command's `--help`. */
export function examples<C extends { addHelpText(position: "after", text: string): unknown }>(
  cmd: C,
  lines: string[],
): C {
  cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`);
  return cmd;
}

/** The `omni` command tree. Parsing errors throw (exitOverride); main.ts maps them to exit code 2. */
export function createProgram(): Command {
  const program = new Command("omni")
    .description(
      "Omni MCP from the terminal: bootstrap organizations without Clerk, operate a gateway, connect clients, add servers.",
    )
    .version(pkg.version, "-v, --version")
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText("after", `\n${ENV_HELP}`);
  examples(program, [
    "omni db migrate && omni orgs create Acme --owner-email ops@acme.test",
    "export OMNI_API_KEY=omni_sk_...   # the key printed once by orgs create",
    "omni services enable linear && omni tools",
    "omni client-config cursor --write",
    "omni doctor",
  ]);

  registerOrgs(program);
  registerKeys(program);
  registerMembers(program);
  registerServices(program);
  registerServers(program);
  registerServersInstances(program);
  registerPrompts(program);
  registerAudit(program);
  registerSessions(program);
  registerDb(program);
  registerClientConfig(program);
  registerConnect(program);
  registerPlayground(program);
  registerNewServer(program);
  registerDoctor(program);
  // Last: it adds `policy` under `servers`, creating that command only if no earlier file did.
  registerServersPolicy(program);
  return program;
}
