import type { Database } from "./client.ts";
import { createRepositories } from "./repos/index.ts";

/** The demo organization's well-known id (slug `demo`). */
export const DEMO_ORG_ID = "org_demo";
/** The demo organization's owner. */
export const DEMO_USER_ID = "usr_demo_owner";

/**
 * Idempotent seed: the demo organization with its owner, and every server already in the catalogue
 * enabled for it. The catalogue itself is not seeded: each domain server's row, default prompts and
 * resources come from its own definition when a gateway discovers it (`registerCatalogue`), which also
 * enables it for the demo organization. Existing demo rows are left as they are (a disabled service stays
 * disabled). Ids are deterministic.
 */
export async function seed(db: Database): Promise<{ servers: number }> {
  return createRepositories(db).transaction(async (repos) => {
    if (!(await repos.organizations.get(DEMO_ORG_ID))) {
      await repos.organizations.create({ id: DEMO_ORG_ID, slug: "demo", name: "Demo Organization" });
    }
    if (!(await repos.users.get(DEMO_USER_ID))) {
      await repos.users.create({ id: DEMO_USER_ID, email: "owner@demo.omni.local", name: "Demo Owner" });
    }
    if (!(await repos.memberships.get(DEMO_ORG_ID, DEMO_USER_ID))) {
      await repos.memberships.add(DEMO_ORG_ID, { userId: DEMO_USER_ID, role: "owner" });
    }
    const servers = await repos.servers.list();
    for (const server of servers) {
      if (!(await repos.services.get(DEMO_ORG_ID, server.id))) {
        await repos.services.create(DEMO_ORG_ID, server.id, { enabled: true });
      }
    }
    return { servers: servers.length };
  });
}
