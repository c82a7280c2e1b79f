import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { coerceArgs, collectArg, parseJsonObject } from "../args.ts";
import { answerElicitation, terminalAsker } from "../elicit.ts";
import { withGateway } from "../gateway.ts";
import { withMcpClient } from "../mcp.ts";
import { CliError, err, out, printJson, printList, withProgress, withSpinnersPaused } from "../output.ts";
import { examples } from "../program.ts";

/** The playground: tools, calls and resources through the gateway with the real MCP SDK client. */

type Tool = Awaited<ReturnType<Client["listTools"]>>["tools"][number];

async function allTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** The server a tool belongs to, by the `<server>_<verb>_<noun>` naming rule. */
const serverOf = (tool: string) => tool.split("_")[0] ?? tool;

export function registerPlayground(program: Command) {
  const tools = withGateway(
    program
      .command("tools")
      .description("list the tools this credential can call")
      .option("--server <server>", "only this server's tools (by name prefix)")
      .option("--json", "print JSON (with input schemas)"),
  ).action(async (opts) => {
    const list = await withMcpClient(opts, allTools);
    const shown = opts.server ? list.filter((t) => serverOf(t.name) === opts.server) : list;
    printList(
      opts.json,
      shown,
      ["TOOL", "DESCRIPTION"],
      (t) => [t.name, (t.description ?? "").split("\n")[0]?.slice(0, 90)],
      opts.server
        ? `(no tools of ${opts.server}: is it enabled? see \`omni services list\`)`
        : "(no tools: enable a server with `omni services enable <server>`)",
    );
  });
  examples(tools, ["omni tools", "omni tools --server linear", "omni tools --json | jq '.[].name'"]);

  const callCmd = withGateway(
    program
      .command("call")
      .description("call a tool and print its result (exit 1 when the tool reports an error)")
      .argument("<tool>", "tool name")
      .option("--arg <key=value>", "an argument (repeatable; typed by the tool's schema)", collectArg, {})
      .option("--json <object>", "all arguments as one JSON object", parseJsonObject)
      .option("--raw", "print the whole CallToolResult as JSON")
      .option(
        "--elicit-json <object>",
        "answer the tool's questions (elicitation) with this JSON object instead of asking on the terminal",
        parseJsonObject,
      ),
  ).action(async (name, opts, cmd) => {
    if (opts.json && Object.keys(opts.arg).length > 0) {
      cmd.error("error: pass --arg or --json, not both", { exitCode: 2, code: "omni.usage" });
    }
    // The tool's questions: --elicit-json, else prompts on a terminal, else declined with what to pass.
    const elicit = (params: Parameters<typeof answerElicitation>[0]) =>
      withSpinnersPaused(() =>
        answerElicitation(params, {
          preset: opts.elicitJson,
          interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
          asker: terminalAsker,
          write: (text) => process.stderr.write(text),
        }),
      );
    const result = await withMcpClient(
      opts,
      async (client) => {
        let args: Record<string, unknown> = opts.json ?? {};
        if (!opts.json && Object.keys(opts.arg).length > 0) {
          const tool = (await allTools(client)).find((t) => t.name === name);
          if (!tool) throw new CliError(`no tool named "${name}" for this credential`, "see `omni tools`");
          try {
            args = coerceArgs(opts.arg, tool.inputSchema);
          } catch (error) {
            if (error instanceof InvalidArgumentError)
              cmd.error(`error: ${error.message}`, { exitCode: 2, code: "omni.usage" });
            throw error;
          }
        }
        // The tool's own progress notifications on stderr (a spinner otherwise); long tools may run for
        // minutes as long as they report progress.
        return withProgress(`calling ${name}`, () =>
          client.callTool({ name, arguments: args }, undefined, {
            timeout: 120_000,
            resetTimeoutOnProgress: true,
            maxTotalTimeout: 30 * 60_000,
            onprogress: ({ progress, total, message }) => {
              const of = total ? `${progress}/${total}` : String(progress);
              process.stderr.write(`${err.dim(`progress ${of}${message ? `: ${message}` : ""}`)}\n`);
            },
          }),
        );
      },
      elicit,
    );
    if (opts.raw) printJson(result);
    else {
      const content = Array.isArray(result.content) ? result.content : [];
      for (const block of content) {
        if (block.type === "text") process.stdout.write(`${block.text}\n`);
        else process.stdout.write(`${out.dim(`[${block.type}]`)} ${JSON.stringify(block).slice(0, 200)}\n`);
      }
      if (content.length === 0 && result.structuredContent) printJson(result.structuredContent);
    }
    if (result.isError) throw new CliError(`${name} reported an error (above)`);
  });
  examples(callCmd, [
    "omni call linear_search_issues --arg query=crash --arg limit=5",
    `omni call beta_add --json '{"a":1,"b":2}'`,
    `omni call my_tool --elicit-json '{"name":"Ada"}'   # answers the tool's questions without asking`,
  ]);

  const resources = program.command("resources").description("resources through MCP");
  examples(resources, ["omni resources list", "omni resources read fixture://info"]);
  const list = withGateway(
    resources.command("list").description("list resources").option("--json", "print JSON"),
  ).action(async (opts) => {
    const rows = await withMcpClient(opts, async (client) => (await client.listResources()).resources);
    printList(opts.json, rows, ["URI", "NAME", "MIME"], (r) => [r.uri, r.name, r.mimeType]);
  });
  examples(list, ["omni resources list"]);
  const read = withGateway(
    resources
      .command("read")
      .description("read a resource and print its text (binary contents as base64 with --json)")
      .argument("<uri>", "resource URI, e.g. linear://teams")
      .option("--json", "print the raw ReadResourceResult"),
  ).action(async (uri, opts) => {
    const result = await withMcpClient(opts, (client) => client.readResource({ uri }));
    if (opts.json) {
      printJson(result);
      return;
    }
    for (const content of result.contents) {
      if ("text" in content && typeof content.text === "string") process.stdout.write(`${content.text}\n`);
      else
        process.stdout.write(`${out.dim(`[${content.mimeType ?? "binary"} ${content.uri}: use --json]`)}\n`);
    }
  });
  examples(read, ["omni resources read alpha://info", "omni resources read linear://teams --json"]);
}
