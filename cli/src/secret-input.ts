import password from "@inquirer/password";
import { CliError } from "./output.ts";

/**
 * A secret value from stdin when it is piped (`printf %s "$KEY" | omni services set-secret ...`), else
 * from a hidden prompt on the terminal: never from an argument, which would land in the shell's history.
 */
export async function readSecret(label: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = await Bun.stdin.text();
    const value = text.replace(/\r?\n$/, "");
    if (!value) throw new CliError("no secret on stdin", `pipe it in, e.g. printf %s "$VALUE" | omni ...`);
    return value;
  }
  const value = await password({ message: label, mask: "*" }, { output: process.stderr });
  if (!value) throw new CliError("no secret entered");
  return value;
}
