#!/usr/bin/env bun
/**
 * `omni`: the Omni MCP command line (`bun omni ...` from the checkout, or `omni ...` once linked).
 * Exit codes: 0 ok, 1 the command failed, 2 bad usage (the usage is printed).
 */
import { CommanderError } from "@commander-js/extra-typings";
import { CliError, EXIT, printError } from "./output.ts";
import { createProgram } from "./program.ts";

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version "fail" with these codes; everything else commander reports is a usage error.
    if (
      error.code === "commander.helpDisplayed" ||
      error.code === "commander.version" ||
      error.code === "commander.executeSubCommandAsync"
    )
      return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof CliError) {
    printError(error);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(
    new CliError(
      `unexpected failure: ${message}`,
      "run again; if it persists, report it with the command line you used",
    ),
  );
  return EXIT.failed;
}

let code: number = EXIT.ok;
try {
  await createProgram().parseAsync(process.argv);
  code = typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
} catch (error) {
  code = exitCodeOf(error);
}
process.exit(code);
