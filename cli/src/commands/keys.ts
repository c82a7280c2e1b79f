import { type Command, Option } from "@commander-js/extra-typings";
import { PERMISSIONS, type Permission } from "@omni/contracts";
import { adminApi, call, withGateway } from "../gateway.ts";
import { CliError, err, out, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/** `omni keys`: the organization's API keys, over the admin API (the key's org is the caller's). */

const isPermission = (value: string): value is Permission =>
  (PERMISSIONS as readonly string[]).includes(value);

/** "30d", "12h", "90m" or an ISO date → an ISO timestamp in the future. */
export function parseExpiry(value: string, now = Date.now()): string {
  const relative = /^(\d{1,5})([dhm])$/.exec(value.trim());
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as "d" | "h" | "m"];
    return new Date(now + Number(relative[1]) * unit).toISOString();
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`"${value}" is neither a duration (30d, 12h) nor a date`);
  return date.toISOString();
}

export function registerKeys(program: Command) {
  const keys = program
    .command("keys")
    .description("the organization's API keys (admin API; needs keys:read / keys:write)");
  examples(keys, ["omni keys create --name ci", "omni keys list", "omni keys revoke key_..."]);

  const create = withGateway(
    keys
      .command("create")
      .description("create an API key and print it once")
      .requiredOption("--name <name>", "what the key is for, e.g. ci or cursor-alice")
      .addOption(
        new Option("--scopes <list>", `comma-separated permissions (${PERMISSIONS.join(", ")})`).default(
          "tools:call,prompts:read,resources:read",
        ),
      )
      .option("--expires <when>", "expiry: a duration (30d, 12h, 90m) or a date (2030-01-01)")
      .option("--json", "print {key, secret} as JSON"),
  ).action(async (opts, cmd) => {
    const scopes = opts.scopes
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = scopes.filter((s) => !isPermission(s));
    if (unknown.length > 0 || scopes.length === 0) {
      cmd.error(
        `error: --scopes: ${unknown.length ? `unknown permission(s) ${unknown.join(", ")}` : "name at least one"}; choose from ${PERMISSIONS.join(", ")}`,
        { exitCode: 2, code: "omni.usage" },
      );
    }
    let expiresAt: string | undefined;
    if (opts.expires) {
      try {
        expiresAt = parseExpiry(opts.expires);
      } catch (error) {
        cmd.error(`error: --expires: ${(error as Error).message}`, { exitCode: 2, code: "omni.usage" });
      }
    }
    const api = adminApi(opts);
    const created = await call(
      api.url,
      api.eden.api.keys.post({
        name: opts.name,
        scopes: scopes.filter(isPermission),
        ...(expiresAt ? { expiresAt } : {}),
      }),
    );
    if (opts.json) {
      printJson(created);
      return;
    }
    process.stderr.write(
      `${err.green("✓")} created key ${created.key.name} (${created.key.id}, scopes ${created.key.scopes.join(",")}); shown only now:\n`,
    );
    process.stdout.write(`${out.bold(created.secret)}\n`);
  });
  examples(create, [
    "omni keys create --name ci",
    "omni keys create --name admin-bot --scopes admin:read,admin:write --expires 30d",
  ]);

  const list = withGateway(
    keys.command("list").description("list the organization's keys").option("--json", "print JSON"),
  ).action(async (opts) => {
    const api = adminApi(opts);
    const rows = await call(api.url, api.eden.api.keys.get());
    printList(opts.json, rows, ["ID", "NAME", "PREFIX", "SCOPES", "LAST USED", "STATE"], (k) => [
      k.id,
      k.name,
      k.prefix,
      k.scopes.join(","),
      k.lastUsedAt?.slice(0, 16) ?? "never",
      k.revokedAt ? "revoked" : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? "expired" : "active",
    ]);
  });
  examples(list, ["omni keys list", "omni keys list --json"]);

  const revoke = withGateway(
    keys
      .command("revoke")
      .description("revoke a key at once, on every replica")
      .argument("<id>", "key id (or its prefix omni_sk_...)"),
  ).action(async (id, opts) => {
    const api = adminApi(opts);
    let keyId = id;
    if (id.startsWith("omni_sk_")) {
      const all = await call(api.url, api.eden.api.keys.get());
      const match = all.find((k) => id.startsWith(k.prefix));
      if (!match)
        throw new CliError(
          `no key with prefix ${id.slice(0, 16)} in this organization`,
          "see `omni keys list`",
        );
      keyId = match.id;
    }
    const after = await call(api.url, api.eden.api.keys({ id: keyId }).delete(), "see `omni keys list`");
    process.stdout.write(`revoked ${after.name} (${after.id}) at ${after.revokedAt}\n`);
  });
  examples(revoke, ["omni keys revoke key_01h...", "omni keys revoke omni_sk_ab12cd34"]);
}
