import type { OrgContext, PromptTemplate } from "@omni/contracts";
import {
  ConflictError,
  createRepositories,
  type Database,
  type McpServer,
  type Repositories,
} from "@omni/db";
import { type AuditRecordInput, auditActor } from "../audit/index.ts";
import type { ConfigServiceImpl } from "../config/index.ts";
import type { Caller, ChangeKind } from "../ports.ts";
import { ApiFailure } from "../security/errors.ts";
import { createLogger } from "../security/log.ts";

/**
 * What the admin operations on an org's configuration share (prompts.ts, resources.ts, services.ts), free
 * of HTTP: errors, the transaction wrapper, and what follows each write. Every write runs in one transaction,
 * validates before writing (a failure writes nothing), then invalidates the config caches on every
 * replica and, when an audit sink is given, records who changed what (never secret values).
 */

export type AdminErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "invalid";

export class AdminError extends ApiFailure {
  constructor(
    override readonly status: 400 | 401 | 403 | 404 | 409 | 422,
    override readonly code: AdminErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(status, code, message, field === undefined ? undefined : { field });
  }
}

export const notFound = (message: string) => new AdminError(404, "not_found", message);
export const invalid = (message: string, field?: string) => new AdminError(422, "invalid", message, field);
export const conflict = (message: string, field?: string) => new AdminError(409, "conflict", message, field);

/** Where audit records go (gateway/src/audit's `AuditLog` fits). */
export interface AdminAuditSink {
  record(input: Omit<AuditRecordInput, "metadata">): Promise<unknown>;
}

export interface AdminServiceDeps {
  db: Database;
  config: ConfigServiceImpl;
  /** Prompts declared in code by the running servers (e.g. `() => registry.capabilities.codePrompts`). */
  codePrompts?: () => ReadonlyMap<string, PromptTemplate[]>;
  audit?: AdminAuditSink;
  logger?: Pick<Console, "warn">;
}

export const iso = (d: Date) => d.toISOString();

export function stripNulls<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}

/** The shared parts each admin module (prompts, resources, services) is built on. */
export function createAdminCore(deps: AdminServiceDeps) {
  const repos = createRepositories(deps.db);
  const codePrompts = () => deps.codePrompts?.() ?? new Map<string, PromptTemplate[]>();
  const logger = deps.logger ?? createLogger();

  /** After a committed write: invalidates the org's config caches, then records the audit entry. */
  async function after(
    org: OrgContext & Pick<Caller, "credentialId">,
    kinds: ChangeKind[],
    audit: { action: string; target: { type: string; id: string }; before?: unknown; after?: unknown },
    uris?: string[],
  ) {
    await deps.config.invalidate({ orgId: org.orgId, kinds, ...(uris ? { uris } : {}) });
    if (!deps.audit) return;
    const actor = auditActor(org, org.credentialId);
    await deps.audit
      .record({ orgId: org.orgId, actor, ...audit })
      .catch((error: unknown) => logger.warn("admin: audit record failed", error));
  }

  async function transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    try {
      return await repos.transaction(fn);
    } catch (error) {
      if (error instanceof ConflictError) throw conflict(error.message);
      throw error;
    }
  }

  async function serverByName(name: string, field = "server"): Promise<McpServer> {
    const server = await repos.servers.getByName(name);
    if (!server) throw new AdminError(404, "not_found", `there is no server named "${name}"`, field);
    return server;
  }

  return { deps, repos, codePrompts, after, transaction, serverByName };
}
export type AdminCore = ReturnType<typeof createAdminCore>;
