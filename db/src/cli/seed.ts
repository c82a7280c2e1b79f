import { createDb, dbOptionsFromEnv, migrate } from "../client.ts";
import { seed } from "../seed.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: bun run db:seed

Migrates, then seeds the server catalogue (linear, perplexity, devtools) with their default prompts and
resources, and the demo organization with its owner. Idempotent: running it again changes nothing, and an
organization's own changes survive. Database: DATABASE_URL when set, else PGlite in .data/pglite.`);
  process.exit(0);
}

const handle = await createDb(dbOptionsFromEnv(process.env));
try {
  await migrate(handle.db);
  const counts = await seed(handle.db);
  console.log(
    `seeded (${handle.driver}): ${counts.servers} servers, ${counts.prompts} prompts, ${counts.resources} resources, demo organization`,
  );
} finally {
  await handle.close();
}
