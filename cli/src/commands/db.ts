import type { Command } from "@commander-js/extra-typings";
import { createRepositories, migrate, migrationStatus, seed } from "@omni/db";
import { describeDatabase, requireMigrated, usingDatabase, withDatabase } from "../database.ts";
import { err, printJson, withProgress } from "../output.ts";
import { examples } from "../program.ts";

/** `omni db`: migrations and seed, straight in the database. */

export function registerDb(program: Command) {
  const db = program.command("db").description("the database: migrate, seed, status (direct access)");
  examples(db, ["omni db status", "omni db migrate", "omni db seed"]);

  const migrateCmd = withDatabase(
    db.command("migrate").description("apply the committed migrations (idempotent)"),
  ).action(async (opts) => {
    await usingDatabase(opts, async (handle) => {
      const before = await migrationStatus(handle.db);
      await withProgress(`migrating ${describeDatabase(opts)}`, () => migrate(handle.db));
      process.stdout.write(
        before.pending.length
          ? `${err.green("✓")} applied ${before.pending.length} migration(s) to ${describeDatabase(opts)}: ${before.pending.join(", ")}\n`
          : `${describeDatabase(opts)} is up to date (${before.committed.length} migrations)\n`,
      );
    });
  });
  examples(migrateCmd, [
    "omni db migrate",
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni omni db migrate",
  ]);

  const seedCmd = withDatabase(
    db
      .command("seed")
      .description(
        "migrate, then seed the demo organization (idempotent; the catalogue comes from the servers)",
      ),
  ).action(async (opts) => {
    await usingDatabase(opts, async (handle) => {
      const counts = await withProgress("seeding", async () => {
        await migrate(handle.db);
        return seed(handle.db);
      });
      process.stdout.write(
        `${err.green("✓")} seeded the demo organization (${counts.servers} catalogue servers enabled for it)\n`,
      );
    });
  });
  examples(seedCmd, ["omni db seed"]);

  const status = withDatabase(
    db
      .command("status")
      .description("reachability, applied and pending migrations, row counts; exit 1 when behind")
      .option("--json", "print JSON"),
  ).action(async (opts) => {
    const report = await usingDatabase(opts, async (handle) => {
      const migrations = await migrationStatus(handle.db);
      const counts =
        migrations.pending.length === 0
          ? await (async () => {
              const repos = createRepositories(handle.db);
              return {
                organizations: (await repos.organizations.list()).length,
                servers: (await repos.servers.list()).length,
              };
            })()
          : null;
      return { database: describeDatabase(opts), driver: handle.driver, ...migrations, counts };
    });
    if (opts.json) printJson(report);
    else {
      process.stdout.write(`database:   ${report.database} (reachable)\n`);
      process.stdout.write(
        `migrations: ${report.committed.length - report.pending.length}/${report.committed.length} applied${report.pending.length ? `; pending: ${report.pending.join(", ")}` : ""}\n`,
      );
      if (report.counts)
        process.stdout.write(
          `rows:       ${report.counts.organizations} organizations, ${report.counts.servers} catalogue servers\n`,
        );
    }
    if (report.pending.length > 0) {
      await usingDatabase(opts, (handle) => requireMigrated(handle, opts));
    }
  });
  examples(status, ["omni db status", "omni db status --json"]);
}
