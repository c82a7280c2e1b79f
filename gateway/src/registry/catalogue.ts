import type { ServerCapabilities } from "@omni/contracts";
import { createRepositories, type Database, registerCatalogue } from "@omni/db";
import type { ConfigChange } from "../ports.ts";

export interface CatalogueSyncDeps {
  db: Database;
  /** Drops cached org views (every replica's, with Redis) after the catalogue changed. */
  invalidate: (change: ConfigChange) => Promise<void>;
  logger?: Pick<Console, "info">;
}

/**
 * The registry's `onDiscovered`: upserts the discovered server's catalogue entry (row, default prompts
 * and resources) from its own definition, and when that changed anything (or the server is new to this
 * process), invalidates every organization's cached view. Catalogue changes are rare: a new server or a
 * new version of one.
 */
export function catalogueSync(deps: CatalogueSyncDeps): (caps: ServerCapabilities) => Promise<void> {
  // Servers this process has registered: the first time, cached views are dropped even when another
  // replica (or an operator's tool) already wrote the same rows, since they may predate the server.
  const known = new Set<string>();
  return async (caps) => {
    const change = await registerCatalogue(deps.db, caps);
    const first = !known.has(caps.server.name);
    known.add(caps.server.name);
    if (change.changed === 0 && !first) return;
    if (change.changed > 0)
      deps.logger?.info(
        `[catalogue] ${caps.server.name} ${change.created ? "added to" : "updated in"} the catalogue (${change.changed} rows)`,
      );
    const orgs = await createRepositories(deps.db).organizations.list();
    for (const org of orgs)
      await deps.invalidate({ orgId: org.id, kinds: ["tools", "prompts", "resources"] });
  };
}
