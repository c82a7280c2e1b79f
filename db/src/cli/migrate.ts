import { createDb, migrate } from "../client.ts";

const handle = await createDb();
try {
  await migrate(handle.db);
  console.log(`migrations applied (${handle.driver})`);
} finally {
  await handle.close();
}
