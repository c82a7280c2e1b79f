import { createDb, migrate } from "../client.ts";
import { seed } from "../seed.ts";

const handle = await createDb();
try {
  await migrate(handle.db);
  const counts = await seed(handle.db);
  console.log(
    `seeded (${handle.driver}): ${counts.servers} servers, ${counts.prompts} prompts, ${counts.resources} resources, demo organization`,
  );
} finally {
  await handle.close();
}
