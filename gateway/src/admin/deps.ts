import type { Database } from "@omni/db";
import type { AuthModule } from "../auth/index.ts";
import type { ConfigServiceImpl } from "../config/index.ts";
import type { SecretBox } from "../config/secrets.ts";
import type { Federation } from "../federation/index.ts";
import type { Session } from "../mcp/session.ts";
import type { Registry } from "../registry/index.ts";

/** What the dashboard's admin routes (me, servers, sessions, usage, settings, audit search) need. */
export interface DashboardDeps {
  /** The primary: writes, and reads that must see them. */
  db: Database;
  /**
   * For reads that may lag by the replication delay (usage statistics, audit search): the database
   * handle's `reader` (Postgres read replicas, `DATABASE_READ_URLS`). Default: `db`.
   */
  readDb?: Database;
  /** Its authenticator, guard macro and audit log. */
  auth: Pick<AuthModule, "authenticator" | "guard" | "audit" | "routes">;
  config: Pick<ConfigServiceImpl, "invalidate" | "catalog" | "policy">;
  registry: Registry;
  /** The live 2025-era MCP sessions of this replica, and how to end one. */
  sessions: { all(): Iterable<Session>; end(session: Session): void };
  /** Local development mode (`OMNI_DEV_MODE`): enables `POST /api/dev/sign-in` for loopback callers. */
  devMode?: boolean;
  /** `CLERK_PUBLISHABLE_KEY`: the dashboard signs in with Clerk when set. */
  clerkPublishableKey?: string;
  /** Where the built dashboard is (default `admin/dist` of the repository). */
  adminDist?: string;
  /** Federated upstreams (`/api/federation`): their health; reloaded after a write. */
  federation?: Federation;
  /** Seals federated upstreams' auth secrets (the config service's box). */
  secrets?: SecretBox;
}
