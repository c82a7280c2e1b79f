import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "@commander-js/extra-typings";
import { CliError, err, withProgress } from "../output.ts";
import { examples } from "../program.ts";
import { scaffoldFiles, scaffoldNames } from "../scaffold.ts";

/** `omni new-server <name>`: scaffolds `servers/<name>` on the kit, then links it into the workspace. */

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const RESERVED = new Set(["kit", "gateway", "admin", "cli", "db", "contracts"]);

/** The next conventional port: one above the highest in servers/*\/src/index.ts (above dev's 3001-3003). */
function nextPort(serversDir: string): number {
  let highest = 3003;
  for (const entry of existsSync(serversDir) ? readdirSync(serversDir) : []) {
    const index = join(serversDir, entry, "src", "index.ts");
    if (!existsSync(index)) continue;
    for (const match of readFileSync(index, "utf8").matchAll(/\b(\d{4,5})\b/g)) {
      highest = Math.max(highest, Number(match[1]));
    }
  }
  return highest + 1;
}

export function registerNewServer(program: Command) {
  const cmd = program
    .command("new-server")
    .description(
      "scaffold servers/<name>: a kit server with an example tool (with schema), a prompt and a test",
    )
    .argument(
      "<name>",
      "server name: lowercase letters and digits, dashes between words (e.g. weather, hr-tools)",
    )
    .option("--dir <repo>", "the repository to add it to", repoRoot)
    .option("--no-install", "skip `bun install` (which links the new package into the workspace)")
    .action(async (name, opts, command) => {
      if (!NAME.test(name) || name.length > 40 || RESERVED.has(name)) {
        command.error(
          `error: "${name}" cannot be a server name: use lowercase letters and digits with dashes between words (at most 40), not ${[...RESERVED].join("/")}`,
          { exitCode: 2, code: "omni.usage" },
        );
      }
      const root = resolve(opts.dir);
      const serversDir = join(root, "servers");
      if (!existsSync(join(root, "package.json")) || !existsSync(join(serversDir, "kit"))) {
        throw new CliError(
          `${root} is not an Omni MCP checkout (no servers/kit)`,
          "run it in the repository, or pass --dir",
        );
      }
      const target = join(serversDir, name);
      if (existsSync(target)) {
        throw new CliError(
          `${relative(process.cwd(), target) || target} already exists`,
          "choose another name, or remove it first",
        );
      }
      const names = scaffoldNames(name, nextPort(serversDir));
      const files = scaffoldFiles(names);
      for (const [path, text] of Object.entries(files)) {
        const file = join(target, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      process.stdout.write(`${err.green("✓")} created servers/${name}:\n`);
      for (const path of Object.keys(files)) process.stdout.write(`  servers/${name}/${path}\n`);
      // The repository's own formatter, so the new files pass `bun run check` whatever the name's length.
      const biome = join(root, "node_modules", ".bin", "biome");
      if (existsSync(biome)) {
        Bun.spawnSync([biome, "format", "--write", target], {
          cwd: root,
          stdout: "ignore",
          stderr: "ignore",
        });
      }
      if (opts.install) {
        const install = await withProgress("bun install (linking the new package)", async () => {
          const proc = Bun.spawn(["bun", "install"], { cwd: root, stdout: "pipe", stderr: "pipe" });
          const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
          return { code, stderr };
        });
        if (install.code !== 0) {
          throw new CliError(
            `bun install failed in ${root}: ${install.stderr.trim().split("\n").at(-1) ?? ""}`,
            `run \`bun install\` yourself, then \`cd servers/${name} && bun test\``,
          );
        }
      }
      process.stdout.write(
        [
          "",
          "next:",
          `  cd servers/${name} && bun test          # its own test`,
          `  bun servers/${name}/src/index.ts        # serve it on :${names.port} (PORT to change)`,
          `  SERVERS=...,${name}=http://127.0.0.1:${names.port} bun gateway/src/index.ts`,
          `  omni services enable ${name} && omni call ${names.prefix}_greet_person --arg name=Ada`,
          "",
        ].join("\n"),
      );
    });
  examples(cmd, ["omni new-server weather", "omni new-server hr-tools --no-install"]);
}
