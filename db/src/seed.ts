import type { Database } from "./client.ts";
import { createRepositories } from "./repos/index.ts";
import { devtools } from "./seed/devtools.ts";
import { linear } from "./seed/linear.ts";
import { perplexity } from "./seed/perplexity.ts";

/** The demo organization's well-known id (slug `demo`). */
export const DEMO_ORG_ID = "org_demo";
/** The demo organization's owner. */
export const DEMO_USER_ID = "usr_demo_owner";

const catalogue = [linear, perplexity, devtools];

/**
 * Idempotent seed: the server catalogue with its default prompts and resources (inserted, or updated to
 * the current text), and the demo organization with its owner and every server enabled. Existing demo
 * rows are left as they are (a disabled service stays disabled). Ids are deterministic.
 */
export async function seed(db: Database): Promise<{ servers: number; prompts: number; resources: number }> {
  return createRepositories(db).transaction(async (repos) => {
    let prompts = 0;
    let resources = 0;
    for (const entry of catalogue) {
      const server = await repos.servers.upsert({ id: `srv_${entry.server.name}`, ...entry.server });
      for (const prompt of entry.prompts) {
        await repos.prompts.upsertDefault({
          id: `dpr_${entry.server.name}_${prompt.name.replaceAll("-", "_")}`,
          serverId: server.id,
          ...prompt,
        });
        prompts++;
      }
      for (const resource of entry.resources) {
        await repos.resources.upsertDefault({
          id: `drs_${entry.server.name}_${resource.name.replaceAll("-", "_")}`,
          serverId: server.id,
          ...resource,
        });
        resources++;
      }
    }

    if (!(await repos.organizations.get(DEMO_ORG_ID))) {
      await repos.organizations.create({ id: DEMO_ORG_ID, slug: "demo", name: "Demo Organization" });
    }
    if (!(await repos.users.get(DEMO_USER_ID))) {
      await repos.users.create({ id: DEMO_USER_ID, email: "owner@demo.omni.local", name: "Demo Owner" });
    }
    if (!(await repos.memberships.get(DEMO_ORG_ID, DEMO_USER_ID))) {
      await repos.memberships.add(DEMO_ORG_ID, { userId: DEMO_USER_ID, role: "owner" });
    }
    for (const entry of catalogue) {
      const serverId = `srv_${entry.server.name}`;
      if (!(await repos.services.get(DEMO_ORG_ID, serverId))) {
        await repos.services.create(DEMO_ORG_ID, serverId, { enabled: true });
      }
    }
    return { servers: catalogue.length, prompts, resources };
  });
}
