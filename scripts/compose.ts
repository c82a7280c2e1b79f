/**
 * `bun run compose`: writes compose.yaml from the server folders under servers/ (one service per folder,
 * the gateway's SERVERS naming all of them). `--check` only reports whether compose.yaml is current.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeFile, discoverServers } from "../servers/kit/src/folders.ts";

const root = new URL("..", import.meta.url).pathname;

if (process.argv.includes("--help")) {
  console.log(`usage: bun run compose [--check]

Regenerates compose.yaml from servers/*/ (every folder with a kit server, except kit), each on its
conventional port (omni.port in its package.json; <NAME>_PORT is not read here, so the file does not
depend on your shell). --check exits 1 when compose.yaml is out of date instead of writing it.`);
  process.exit(0);
}

const path = join(root, "compose.yaml");
const text = composeFile(discoverServers(root, {}));
if (process.argv.includes("--check")) {
  const current = readFileSync(path, "utf8") === text;
  console.log(current ? "compose.yaml is up to date" : "compose.yaml is out of date: run `bun run compose`");
  process.exit(current ? 0 : 1);
}
writeFileSync(path, text);
console.log(
  `wrote compose.yaml (${discoverServers(root, {})
    .map((s) => s.name)
    .join(", ")})`,
);
