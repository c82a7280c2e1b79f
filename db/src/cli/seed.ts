import { createDb, dbOptionsFromEnv, migrate } from "../client.ts";
import { seed } from "../seed.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: bun run db:seed

Migrates, then seeds the demo organization with its owner and every catalogue server enabled for it.
The catalogue (servers, default prompts and resources) is not seeded: a gateway upserts each domain
server's entry from its own definition when it discovers an instance. Idempotent: running it again
changes nothing, and an organization's own changes survive. Database: DATABASE_URL when set, else PGlite in .data/pglite.`);
  process.exit(0);
}

const handle = await createDb(dbOptionsFromEnv(process.env));
try {
  await migrate(handle.db);
  const counts = await seed(handle.db);
  console.log(
    `seeded (${handle.driver}): the demo organization, ${counts.servers} catalogue servers enabled for it`,
  );
} finally {
  await handle.close();
}
