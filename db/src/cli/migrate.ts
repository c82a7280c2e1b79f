import { createDb, dbOptionsFromEnv, migrate } from "../client.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: bun run db:migrate

Applies the committed Drizzle migrations (db/migrations) and makes sure this month's and next month's
audit_logs partitions exist. Idempotent; the gateway also runs it at start-up.
Database: DATABASE_URL (Postgres) when set, else the embedded PGlite in .data/pglite.`);
  process.exit(0);
}

const handle = await createDb(dbOptionsFromEnv(process.env));
try {
  await migrate(handle.db);
  console.log(`migrations applied (${handle.driver})`);
} finally {
  await handle.close();
}
