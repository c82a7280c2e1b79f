import type { AdminService, OrgContext, SecretState, UpdateServiceBody } from "@omni/contracts";
import type { SecretEnvelopes } from "@omni/db";
import { writeSecret } from "../config/secret-store.ts";
import { type AdminCore, AdminError, iso, notFound } from "./core.ts";

/**
 * The admin operations on an org's services: enabling, settings, the org's service secrets and the
 * calling member's own credentials (values are write-only: listings say only which are set).
 */
export function createServiceAdmin(core: AdminCore) {
  const { deps, repos, after, transaction, serverByName } = core;

  function secretStates(secrets: SecretEnvelopes, updatedAt: Date): Record<string, SecretState> {
    return Object.fromEntries(
      Object.keys(secrets)
        .sort()
        .map((name) => [name, { set: true as const, updatedAt: iso(updatedAt) }]),
    );
  }

  async function listServices(org: OrgContext): Promise<AdminService[]> {
    const [servers, services, credentials] = await Promise.all([
      repos.servers.list(),
      repos.services.list(org.orgId),
      org.userId ? repos.credentials.listForUser(org.orgId, org.userId) : Promise.resolve([]),
    ]);
    return servers.map((server) => {
      const service = services.find((s) => s.serverId === server.id);
      const own = credentials.find((c) => c.serverId === server.id);
      return {
        name: server.name,
        title: server.title,
        description: server.description,
        enabled: service?.enabled ?? false,
        settings: service?.settings ?? {},
        secrets: service ? secretStates(service.secrets, service.updatedAt) : {},
        myCredentials: own ? secretStates(own.secrets, own.updatedAt) : {},
      };
    });
  }

  async function serviceView(org: OrgContext, name: string): Promise<AdminService> {
    const found = (await listServices(org)).find((s) => s.name === name);
    if (!found) throw notFound(`there is no server named "${name}"`);
    return found;
  }

  async function updateService(
    org: OrgContext,
    name: string,
    body: UpdateServiceBody,
  ): Promise<AdminService> {
    const server = await serverByName(name);
    const result = await transaction(async (tx) => {
      const current = await tx.services.get(org.orgId, server.id);
      const settings = { ...(current?.settings ?? {}) };
      for (const [key, value] of Object.entries(body.settings ?? {})) {
        if (value === null) delete settings[key];
        else settings[key] = value;
      }
      const row = await tx.services.upsert(org.orgId, server.id, {
        enabled: body.enabled ?? current?.enabled ?? false,
        settings,
      });
      return { before: current, row };
    });
    const toggled = (result.before?.enabled ?? false) !== result.row.enabled;
    await after(org, toggled ? ["tools", "prompts", "resources"] : [], {
      action: "service.update",
      target: { type: "service", id: name },
      before: result.before
        ? { enabled: result.before.enabled, settings: result.before.settings }
        : undefined,
      after: { enabled: result.row.enabled, settings: result.row.settings },
    });
    return serviceView(org, name);
  }

  /**
   * Sets or clears one secret of the org's service (`userId` unset) or of the calling member's own
   * credentials, through the one secrets path (config/secret-store.ts), then audits it (never the value).
   */
  async function writeOwnSecret(
    org: OrgContext,
    name: string,
    secret: string,
    value: string | null,
    userId: string | undefined,
  ): Promise<AdminService> {
    const server = await serverByName(name);
    await transaction(async (tx) => {
      const owner = { orgId: org.orgId, server, ...(userId === undefined ? {} : { userId }) };
      if (!(await writeSecret(tx, deps.config.secrets, owner, secret, value))) {
        const missing =
          userId === undefined
            ? `secret "${secret}" of ${name} is not set`
            : `you have no credential "${secret}" for ${name}`;
        throw new AdminError(404, "not_found", missing, "name");
      }
    });
    const kind = userId === undefined ? "service.secret" : "credential";
    await after(org, [], {
      action: `${kind}.${value === null ? "clear" : "set"}`,
      target: { type: "service", id: name },
      after: { secret, set: value !== null },
    });
    return serviceView(org, name);
  }

  async function setSecret(
    org: OrgContext,
    name: string,
    secret: string,
    value: string | null,
  ): Promise<AdminService> {
    return writeOwnSecret(org, name, secret, value, undefined);
  }

  async function setCredential(
    org: OrgContext,
    name: string,
    secret: string,
    value: string | null,
  ): Promise<AdminService> {
    if (!org.userId) {
      throw new AdminError(
        400,
        "bad_request",
        "personal credentials belong to a member: this request is not made by a user",
      );
    }
    return writeOwnSecret(org, name, secret, value, org.userId);
  }

  return { listServices, updateService, setSecret, setCredential };
}
