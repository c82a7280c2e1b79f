import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { treaty } from "@elysiajs/eden";
import type { GatewayApp } from "@omni/gateway";
import { loadOperatorToken } from "@omni/gateway/operator-token";
import { DEFAULT_URL } from "./env.ts";
import { baseUrl } from "./gateway.ts";
import { CliError } from "./output.ts";

/**
 * The gateway's operator API (`/api/operator/...`): deployment-wide operations, opened only by the
 * deployment's operator token (`OMNI_OPERATOR_TOKEN`; an organization's API key is refused there).
 */

interface OperatorOptions {
  url: string;
  token?: string | undefined;
}

/** Adds `--url` and `--token` (the operator token) to a command. */
export function withOperator<A extends unknown[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd
    .addOption(new Option("--url <url>", "gateway base URL").env("OMNI_URL").default(DEFAULT_URL))
    .addOption(
      new Option(
        "--token <token>",
        "the deployment's operator token (on the machine of `bun run dev`: read from .data/operator.token)",
      ).env("OMNI_OPERATOR_TOKEN"),
    );
}

const isLoopbackUrl = (url: string) => {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
};

/** The operator API's Eden client: the token from --token / OMNI_OPERATOR_TOKEN, else the local dev file. */
export function operatorApi(opts: OperatorOptions) {
  const url = baseUrl(opts);
  // The development token only belongs to a gateway of this machine (same data directory).
  const token =
    opts.token?.trim() ||
    (isLoopbackUrl(url)
      ? loadOperatorToken({ ...process.env, OMNI_OPERATOR_TOKEN: "" }, { create: false })
      : null);
  if (!token) {
    throw new CliError(
      "no operator token: this command works on the whole deployment, so it needs the gateway's OMNI_OPERATOR_TOKEN (an organization's API key is not enough)",
      "set OMNI_OPERATOR_TOKEN (or pass --token) to the value the gateway runs with",
    );
  }
  return {
    url,
    eden: treaty<GatewayApp>(url, { headers: { authorization: `Bearer ${token}` } }).api.operator,
  };
}
