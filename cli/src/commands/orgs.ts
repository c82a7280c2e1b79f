import type { Command } from "@commander-js/extra-typings";
import { PERMISSIONS } from "@omni/contracts";
import { ConflictError, createRepositories } from "@omni/db";
import { createApiKey } from "@omni/gateway/api-keys";
import { createAuditLog, loadAuditKeys } from "@omni/gateway/audit";
import { requireMigrated, usingDatabase, withDatabase } from "../database.ts";
import { CliError, err, out, printJson, printList } from "../output.ts";
import { examples } from "../program.ts";

/** `omni orgs`: organizations, straight in the database (the operator's path; no gateway or Clerk needed). */

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;

/** "Acme Corp." → "acme-corp". */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/g, "");
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function registerOrgs(program: Command) {
  const orgs = program.command("orgs").description("organizations (direct database access, for operators)");
  examples(orgs, ['omni orgs create "Acme Corp" --owner-email ops@acme.test', "omni orgs list --json"]);

  const create = withDatabase(
    orgs
      .command("create")
      .description(
        "create an organization with an owner and print an owner API key once: the bootstrap path without Clerk",
      )
      .argument("<name>", 'display name, e.g. "Acme Corp"')
      .option("--slug <slug>", "URL-safe id (default: derived from the name)")
      .option("--owner-email <email>", "create this user as the organization's owner (the key's creator)")
      .option("--owner-name <name>", "the owner's display name")
      .option("--key-name <name>", "name of the owner API key", "owner (bootstrap)")
      .option("--json", "print {organization, key, secret} as JSON"),
  ).action(async (name, opts, cmd) => {
    const slug = opts.slug ?? slugify(name);
    if (!SLUG.test(slug)) {
      cmd.error(
        `error: "${slug}" is not a valid slug: lowercase letters, digits and inner dashes, at most 48 characters (pass --slug)`,
        { exitCode: 2, code: "omni.usage" },
      );
    }
    if (opts.ownerEmail && !EMAIL.test(opts.ownerEmail)) {
      cmd.error(`error: --owner-email "${opts.ownerEmail}" is not an email address`, {
        exitCode: 2,
        code: "omni.usage",
      });
    }
    const result = await usingDatabase(opts, async (handle) => {
      await requireMigrated(handle, opts);
      const repos = createRepositories(handle.db);
      let created: Awaited<ReturnType<typeof bootstrap>>;
      const bootstrap = () =>
        repos.transaction(async (tx) => {
          const organization = await tx.organizations.create({ slug, name });
          const owner = opts.ownerEmail
            ? await tx.users.create({ email: opts.ownerEmail, name: opts.ownerName ?? null })
            : null;
          if (owner) await tx.memberships.add(organization.id, { userId: owner.id, role: "owner" });
          await tx.services.enableDefaults(organization.id);
          const { row, secret } = await createApiKey(tx, organization.id, owner?.id ?? null, {
            name: opts.keyName,
            scopes: [...PERMISSIONS],
          });
          return { organization, owner, key: row, secret };
        });
      try {
        created = await bootstrap();
      } catch (error) {
        if (error instanceof ConflictError) {
          throw new CliError(
            error.message,
            "choose another name or pass --slug; `omni orgs list` shows the taken ones",
          );
        }
        throw error;
      }
      // The new organization's audit chain starts as the admin API's would: who created it and its key
      // (chained with the deployment's audit keys, so `omni audit verify` and the gateway agree).
      const { organization, owner, key } = created;
      const actor = owner
        ? { type: "user" as const, id: owner.id }
        : { type: "system" as const, id: "omni-cli" };
      try {
        const audit = createAuditLog({ db: handle.db, keys: loadAuditKeys(process.env) });
        await audit.record({
          orgId: organization.id,
          actor,
          action: "organization.create",
          target: { type: "organization", id: organization.id },
          after: { slug: organization.slug, name: organization.name },
          metadata: { via: "omni orgs create", ...(owner ? { owner: owner.email } : {}) },
        });
        await audit.record({
          orgId: organization.id,
          actor,
          action: "api_key.create",
          target: { type: "api_key", id: key.id },
          after: { name: key.name, prefix: key.prefix, scopes: key.scopes },
          metadata: { via: "omni orgs create" },
        });
      } catch (error) {
        // The organization and its key exist (and are printed below): say so, and fail the command.
        process.stderr.write(
          `${err.red("✗")} organization ${organization.slug} was created, but writing its audit rows failed: ${error instanceof Error ? error.message : String(error)}\n  check that OMNI_SECRET_KEY / OMNI_AUDIT_KEY are the gateway's\n`,
        );
        process.exitCode = 1;
      }
      return created;
    });
    if (opts.json) {
      printJson({
        organization: {
          id: result.organization.id,
          slug: result.organization.slug,
          name: result.organization.name,
        },
        owner: result.owner ? { id: result.owner.id, email: result.owner.email } : null,
        key: { id: result.key.id, prefix: result.key.prefix, scopes: result.key.scopes },
        secret: result.secret,
      });
      return;
    }
    process.stderr.write(
      `${err.green("✓")} created organization ${err.bold(result.organization.slug)} (${result.organization.id})` +
        (result.owner ? ` with owner ${result.owner.email}` : "") +
        "\n",
    );
    process.stderr.write(
      `owner API key ${result.key.prefix}… (id ${result.key.id}); shown only now, store it safely:\n`,
    );
    process.stdout.write(`${out.bold(result.secret)}\n`);
    process.stderr.write(
      `next: export OMNI_API_KEY=<the key>; then \`omni services list\`, \`omni keys create --name ci\`, \`omni client-config cursor\`\n`,
    );
  });
  examples(create, [
    'omni orgs create "Acme Corp" --owner-email ops@acme.test',
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni omni orgs create acme --json",
  ]);

  const list = withDatabase(
    orgs.command("list").description("list every organization").option("--json", "print JSON"),
  ).action(async (opts) => {
    const rows = await usingDatabase(opts, async (handle) => {
      await requireMigrated(handle, opts);
      const repos = createRepositories(handle.db);
      const all = await repos.organizations.list();
      return Promise.all(
        all.map(async (o) => ({
          id: o.id,
          slug: o.slug,
          name: o.name,
          members: (await repos.memberships.list(o.id)).length,
          keys: (await repos.apiKeys.list(o.id)).filter((k) => !k.revokedAt).length,
          createdAt: o.createdAt.toISOString(),
        })),
      );
    });
    printList(opts.json, rows, ["SLUG", "ID", "NAME", "MEMBERS", "KEYS", "CREATED"], (o) => [
      o.slug,
      o.id,
      o.name,
      o.members,
      o.keys,
      o.createdAt.slice(0, 10),
    ]);
  });
  examples(list, ["omni orgs list", "omni orgs list --json | jq '.[].slug'"]);
}
