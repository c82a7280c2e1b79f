import type { Command } from "@commander-js/extra-typings";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { withGateway } from "../gateway.ts";
import { gatewayTransport, mcpUrl } from "../mcp.ts";
import { examples } from "../program.ts";

/**
 * `omni connect`: a stdio MCP server that relays every JSON-RPC message, unchanged and in both
 * directions, to the gateway's Streamable HTTP endpoint. The client's own session is carried end to end:
 * its initialize and capabilities, server-to-client requests (sampling, elicitation, roots) and their
 * answers, notifications, cancellation and progress. Diagnostics go to stderr; stdout is the protocol.
 */

function isInitializeResult(message: JSONRPCMessage): message is JSONRPCMessage & {
  result: { protocolVersion: string };
} {
  if (!("result" in message)) return false;
  const result = message.result as { protocolVersion?: unknown; serverInfo?: unknown };
  return typeof result.protocolVersion === "string" && result.serverInfo !== undefined;
}

export function registerConnect(program: Command) {
  const connect = withGateway(
    program
      .command("connect")
      .description(
        "a stdio bridge to the gateway for clients that only speak stdio (a whole MCP session, both ways)",
      )
      .option("--quiet", "no diagnostics on stderr"),
  ).action(async (opts) => {
    const log = (line: string) => {
      if (!opts.quiet) process.stderr.write(`omni connect: ${line}\n`);
    };
    const upstream = gatewayTransport(opts);
    const local = new StdioServerTransport();
    let closing = false;
    const finished = Promise.withResolvers<number>();

    const close = async (code: number, why?: string) => {
      if (closing) return;
      closing = true;
      if (why) log(why);
      // End the gateway session (DELETE /mcp) so it does not linger until the idle timeout.
      await upstream.terminateSession().catch(() => {});
      await upstream.close().catch(() => {});
      await local.close().catch(() => {});
      finished.resolve(code);
    };

    upstream.onmessage = (message) => {
      // The HTTP transport sends `MCP-Protocol-Version` once it knows the negotiated version.
      if (isInitializeResult(message)) upstream.setProtocolVersion(message.result.protocolVersion);
      local.send(message).catch((error: unknown) => void close(1, `stdout write failed: ${String(error)}`));
    };
    upstream.onerror = (error) => log(`gateway: ${error.message}`);
    upstream.onclose = () => void close(0);

    local.onmessage = (message) => {
      upstream.send(message).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        log(`request to ${mcpUrl(opts)} failed: ${reason}`);
        // Answer a request the gateway never saw, so the client is not left waiting.
        if ("method" in message && "id" in message) {
          void local.send({
            jsonrpc: "2.0",
            id: message.id,
            error: {
              code: -32603,
              message: `omni connect: the gateway is unreachable or refused the request (${reason})`,
            },
          });
        }
      });
    };
    local.onerror = (error) => log(`stdin: ${error.message}`);
    local.onclose = () => void close(0);
    process.stdin.on("end", () => void close(0));

    await upstream.start();
    await local.start();
    log(`relaying stdio to ${mcpUrl(opts)}`);
    process.exitCode = await finished.promise;
  });
  examples(connect, [
    "omni connect --url http://127.0.0.1:37373      # then speak MCP on stdin/stdout",
    'claude_desktop_config.json: {"command": "omni", "args": ["connect"], "env": {"OMNI_API_KEY": "omni_sk_..."}}',
  ]);
}
