import type { Database } from "../client.ts";
import { apiKeysRepo } from "./api-keys.ts";
import { auditRepo } from "./audit.ts";
import { federationRepo } from "./federation.ts";
import { membershipsRepo } from "./memberships.ts";
import { organizationsRepo, usersRepo } from "./organizations.ts";
import { bundlesRepo, toolPoliciesRepo } from "./policy.ts";
import { promptsRepo } from "./prompts.ts";
import { resourcesRepo } from "./resources.ts";
import { serversRepo } from "./servers.ts";
import { credentialsRepo, servicesRepo } from "./services.ts";
import { webhooksRepo } from "./webhooks.ts";

function build(db: Database, knownPartitions: Set<string>) {
  return {
    organizations: organizationsRepo(db),
    users: usersRepo(db),
    memberships: membershipsRepo(db),
    servers: serversRepo(db),
    services: servicesRepo(db),
    credentials: credentialsRepo(db),
    prompts: promptsRepo(db),
    resources: resourcesRepo(db),
    apiKeys: apiKeysRepo(db),
    audit: auditRepo(db, knownPartitions),
    webhooks: webhooksRepo(db),
    federation: federationRepo(db),
    toolPolicies: toolPoliciesRepo(db),
    bundles: bundlesRepo(db),
  };
}

type RepoSet = ReturnType<typeof build>;

export interface Repositories extends RepoSet {
  /** Runs `fn` in one transaction with repositories bound to it; a throw rolls everything back. */
  transaction<T>(fn: (repos: Repositories) => Promise<T>): Promise<T>;
}

function bind(db: Database, knownPartitions: Set<string>): Repositories {
  return {
    ...build(db, knownPartitions),
    transaction: (fn) => db.transaction((tx) => fn(bind(tx, knownPartitions))),
  };
}

/** Every repository over one database handle. Functions on org-owned tables take the org id first. */
export function createRepositories(db: Database): Repositories {
  return bind(db, new Set());
}
