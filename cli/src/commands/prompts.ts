import type { Command } from "@commander-js/extra-typings";
import type { AdminPrompt, PromptArgument } from "@omni/contracts";
import { collectArg } from "../args.ts";
import { adminApi, call, withGateway } from "../gateway.ts";
import { withMcpClient } from "../mcp.ts";
import { CliError, err, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/**
 * `omni prompts`: `list` and `set` manage the organization's prompts over the admin API; `get` renders one
 * through MCP `prompts/get`, exactly as a client receives it.
 */

/** The `{{name}}` placeholders of a template, in order of first use. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? ""))];
}

async function templateText(file: string | undefined): Promise<string> {
  if (file) {
    const source = Bun.file(file);
    if (!(await source.exists())) throw new CliError(`no such file: ${file}`);
    return source.text();
  }
  if (process.stdin.isTTY) {
    throw new CliError(
      "no template given",
      "pass --text '...' or --file prompt.md, or pipe the text into stdin",
    );
  }
  return Bun.stdin.text();
}

export function registerPrompts(program: Command) {
  const prompts = program
    .command("prompts")
    .description("prompts: list and set (admin API), get (rendered over MCP)");
  examples(prompts, [
    "omni prompts list",
    "omni prompts get fixture_greet --arg who=team",
    "omni prompts set standup --file standup.md",
  ]);

  const list = withGateway(
    prompts
      .command("list")
      .description("every prompt of the organization with its source (code, default, override, org)")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const { prompts: rows } = await call(api.url, api.eden.api.prompts.get());
    printList(opts.json, rows, ["NAME", "SERVER", "SOURCE", "VISIBLE", "DESCRIPTION"], (p) => [
      p.name,
      p.server ?? "-",
      p.disabled ? `${p.source} (disabled)` : p.source,
      p.visible ? "yes" : "no",
      (p.description ?? "").slice(0, 60),
    ]);
  });
  examples(list, [
    "omni prompts list",
    "omni prompts list --json | jq '.[] | select(.source == \"override\")'",
  ]);

  const get = withGateway(
    prompts
      .command("get")
      .description("render a prompt with arguments through MCP prompts/get")
      .argument("<name>", "prompt name")
      .option("--arg <key=value>", "an argument (repeatable)", collectArg, {})
      .option("--json", "print the raw GetPromptResult"),
  ).action(async (name, opts) => {
    const result = await withMcpClient(opts, (client) => client.getPrompt({ name, arguments: opts.arg }));
    if (opts.json) {
      printJson(result);
      return;
    }
    if (result.description) process.stdout.write(`${err.dim(result.description)}\n`);
    for (const message of result.messages) {
      const content = message.content;
      const text = content.type === "text" ? content.text : JSON.stringify(content);
      process.stdout.write(`[${message.role}]\n${text}\n`);
    }
  });
  examples(get, [
    "omni prompts get linear_triage_issues --arg team=ENG",
    "omni prompts get alpha_greet --arg who=world --json",
  ]);

  const set = withGateway(
    prompts
      .command("set")
      .description(
        "set a prompt's text: overrides a server's default of that name, updates the org's own, or creates one",
      )
      .argument("<name>", "prompt name")
      .option("--text <template>", "the template; {{arg}} placeholders become required arguments")
      .option("--file <path>", "read the template from a file (else stdin)")
      .option("--description <text>", "description shown to clients")
      .option("--server <server>", "for a new prompt: show it only while this server is enabled")
      .option("--json", "print the saved prompt as JSON"),
  ).action(async (name, opts, cmd) => {
    if (opts.text !== undefined && opts.file !== undefined) {
      cmd.error("error: pass either --text or --file, not both", { exitCode: 2, code: "omni.usage" });
    }
    const text = opts.text ?? (await templateText(opts.file));
    if (!text.trim()) throw new CliError("the template is empty");
    const args: PromptArgument[] = placeholders(text).map((arg) => ({ name: arg, required: true }));
    const messages = [{ role: "user" as const, text }];
    const api = adminApi(opts);
    const { prompts: current } = await call(api.url, api.eden.api.prompts.get());
    const existing = current.find(
      (p) => p.name === name && (opts.server === undefined || p.server === opts.server),
    );
    const description = opts.description !== undefined ? { description: opts.description } : {};
    let saved: AdminPrompt;
    let how: string;
    if (existing && existing.source === "org" && existing.id) {
      saved = await call(
        api.url,
        api.eden.api.prompts({ id: existing.id }).patch({ messages, arguments: args, ...description }),
      );
      how = "updated";
    } else if (existing?.server && (existing.source === "default" || existing.source === "override")) {
      saved = await call(
        api.url,
        api.eden.api.prompts
          .defaults({ server: existing.server })({ name })
          .put({ messages, arguments: args, ...description }),
      );
      how = `overrode ${existing.server}'s default`;
    } else if (existing?.source === "code") {
      throw new CliError(
        `"${name}" is declared in ${existing.server ?? "a server"}'s code`,
        "choose another name for your own prompt",
      );
    } else {
      saved = await call(
        api.url,
        api.eden.api.prompts.post({
          name,
          messages,
          arguments: args,
          ...description,
          ...(opts.server ? { server: opts.server } : {}),
        }),
      );
      how = "created";
    }
    if (opts.json) printJson(saved);
    else
      process.stdout.write(
        `${err.green("✓")} ${how} prompt ${saved.name} (arguments: ${args.map((a) => a.name).join(", ") || "none"})\n`,
      );
  });
  examples(set, [
    "omni prompts set standup --text 'Summarise what {{team}} did yesterday.'",
    "omni prompts set linear_triage_issues --file triage.md      # overrides the server's default",
    "cat review.md | omni prompts set code-review --description 'Review a diff'",
  ]);
}
