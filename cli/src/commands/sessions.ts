import type { Command } from "@commander-js/extra-typings";
import { adminApi, call, withGateway } from "../gateway.ts";
import { printList } from "../output.ts";
import { examples } from "../program.ts";

/** `omni sessions`: live MCP sessions of the organization on the gateway replica that answers. */

/** "3m", "2h 5m", "4d 1h" since `iso`. */
function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function registerSessions(program: Command) {
  const sessions = program
    .command("sessions")
    .description(
      "live MCP sessions of the organization on the replica that answers (admin API; needs admin:read / admin:write)",
    );
  examples(sessions, ["omni sessions list", "omni sessions end <id>"]);

  const list = withGateway(
    sessions
      .command("list")
      .description("list live sessions, most recently active first")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const { sessions: rows } = await call(api.url, api.eden.api.sessions.get());
    printList(
      opts.json,
      rows,
      ["ID", "CLIENT", "PROTOCOL", "CREDENTIAL", "AGE", "IDLE", "CALLS", "STREAM"],
      (s) => [
        s.id,
        [s.clientName, s.clientVersion].filter(Boolean).join(" ") || "?",
        s.protocolVersion,
        s.credential.id ? `${s.credential.type}:${s.credential.id}` : s.credential.type,
        age(s.createdAt),
        age(s.lastSeenAt),
        s.inflight,
        s.streaming ? "open" : "-",
      ],
      "(no live sessions on this replica)",
    );
  });
  examples(list, ["omni sessions list", "omni sessions list --json | jq '.[].clientName'"]);

  const end = withGateway(
    sessions
      .command("end")
      .description(
        "end a session: its calls are aborted, its stream closes, the client's next request gets 404",
      )
      .argument("<id>", "session id (from `omni sessions list`)"),
  ).action(async (id, opts) => {
    const api = adminApi(opts);
    await call(api.url, api.eden.api.sessions({ id }).delete(), "see `omni sessions list`");
    process.stdout.write(`ended session ${id}\n`);
  });
  examples(end, ["omni sessions end 9f1c2e7a-..."]);
}
