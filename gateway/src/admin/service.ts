import type {
  AdminPrompt,
  AdminResource,
  AdminService,
  CreatePromptBody,
  CreateResourceBody,
  GetPromptResult,
  OrgContext,
  OverridePromptBody,
  OverrideResourceBody,
  PreviewPromptBody,
  PromptTemplate,
  SecretState,
  UpdatePromptBody,
  UpdateResourceBody,
  UpdateServiceBody,
} from "@omni/contracts";
import {
  type ActorType,
  ConflictError,
  createRepositories,
  type Database,
  type McpServer,
  type Repositories,
  type SecretEnvelopes,
} from "@omni/db";
import { PromptArgumentError, PromptTemplateError, renderPrompt, templateIssues } from "@omni/kit";
import { auditActor } from "../audit/index.ts";
import type { ConfigServiceImpl } from "../config/index.ts";
import { applyPromptOverride, mergeCatalog, serverPromptsOf } from "../config/merge.ts";
import { loadSnapshot, type OrgSnapshot } from "../config/store.ts";
import type { ChangeKind } from "../ports.ts";
import { ApiFailure } from "../security/errors.ts";
import { createLogger } from "../security/log.ts";

/**
 * The admin operations on an org's configuration, free of HTTP. Every write runs in one transaction,
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

const notFound = (message: string) => new AdminError(404, "not_found", message);
const invalid = (message: string, field?: string) => new AdminError(422, "invalid", message, field);
const conflict = (message: string, field?: string) => new AdminError(409, "conflict", message, field);

/** Where audit records go (gateway/src/audit's `AuditLog` fits). */
export interface AdminAuditSink {
  record(input: {
    orgId: string;
    actor: { type: ActorType; id: string };
    action: string;
    target?: { type: string; id: string } | null;
    before?: unknown;
    after?: unknown;
  }): Promise<unknown>;
}

export interface AdminServiceDeps {
  db: Database;
  config: ConfigServiceImpl;
  /** Prompts declared in code by the running servers (e.g. `() => registry.capabilities.codePrompts`). */
  codePrompts?: () => ReadonlyMap<string, PromptTemplate[]>;
  audit?: AdminAuditSink;
  logger?: Pick<Console, "warn">;
}

const iso = (d: Date) => d.toISOString();

function stripNulls<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}

function checkTemplate(template: Pick<PromptTemplate, "arguments" | "messages">): void {
  const [issue] = templateIssues(template);
  if (issue) throw invalid(issue.message, issue.field);
}

function contentSize(text: string | undefined, blob: string | undefined): number {
  if (text !== undefined) return Buffer.byteLength(text, "utf8");
  return blob === undefined ? 0 : Buffer.from(blob, "base64").length;
}

export function createAdminService(deps: AdminServiceDeps) {
  const repos = createRepositories(deps.db);
  const codePrompts = () => deps.codePrompts?.() ?? new Map<string, PromptTemplate[]>();
  const logger = deps.logger ?? createLogger();

  async function after(
    org: OrgContext & { credentialId?: string },
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

  // ---- prompts ---------------------------------------------------------------------------------------

  function promptsView(snap: OrgSnapshot, updated: Map<string, Date>): AdminPrompt[] {
    const code = codePrompts();
    const merged = mergeCatalog(snap, code);
    const enabled = snap.servers
      .filter((s) => s.enabled)
      .map((s) => s.name)
      .sort();
    const base = serverPromptsOf(snap, code, enabled);
    const out: AdminPrompt[] = [];
    const claimed = new Set<string>();
    const view = (
      id: string | null,
      server: string | null,
      source: AdminPrompt["source"],
      template: PromptTemplate,
      disabled: boolean,
    ): AdminPrompt => {
      const shown = merged.prompts.get(template.name);
      return {
        id,
        name: template.name,
        server,
        source,
        disabled,
        visible: !disabled && shown?.server === server && shown.source === source,
        ...(template.title === undefined ? {} : { title: template.title }),
        ...(template.description === undefined ? {} : { description: template.description }),
        arguments: template.arguments ?? [],
        messages: template.messages,
        updatedAt: id && updated.has(id) ? iso(updated.get(id)!) : null,
      };
    };
    for (const server of enabled) {
      for (const item of [...base.get(server)!.values()].sort((a, b) =>
        a.template.name.localeCompare(b.template.name),
      )) {
        const row = snap.orgPrompts.find((p) => p.server === server && p.name === item.template.name);
        if (row) claimed.add(row.id);
        const overridden = row && (row.title ?? row.description ?? row.arguments ?? row.messages) !== null;
        out.push(
          view(
            row?.id ?? null,
            server,
            overridden ? "override" : item.source,
            row ? applyPromptOverride(item.template, row) : item.template,
            row?.disabled ?? false,
          ),
        );
      }
    }
    for (const row of snap.orgPrompts) {
      if (claimed.has(row.id) || row.messages === null) continue;
      const template = stripNulls({
        name: row.name,
        title: row.title,
        description: row.description,
        arguments: row.arguments,
      });
      out.push(view(row.id, row.server, "org", { ...template, messages: row.messages }, row.disabled));
    }
    return out;
  }

  async function listPrompts(orgId: string): Promise<AdminPrompt[]> {
    const [snap, rows] = await Promise.all([loadSnapshot(deps.db, orgId), repos.prompts.list(orgId)]);
    return promptsView(snap, new Map(rows.map((r) => [r.id, r.updatedAt])));
  }

  async function promptView(orgId: string, pick: (p: AdminPrompt) => boolean): Promise<AdminPrompt> {
    const found = (await listPrompts(orgId)).find(pick);
    if (!found) throw notFound("the prompt is not part of this organization's catalogue");
    return found;
  }

  /** The server prompt (code or default) an override applies to, for an enabled server. */
  async function basePrompt(orgId: string, serverName: string, name: string) {
    const snap = await loadSnapshot(deps.db, orgId);
    const service = snap.servers.find((s) => s.name === serverName);
    if (!service?.enabled) {
      throw new AdminError(
        404,
        "not_found",
        `server "${serverName}" is not enabled for this organization`,
        "server",
      );
    }
    const item = serverPromptsOf(snap, codePrompts(), [serverName]).get(serverName)!.get(name);
    if (!item)
      throw new AdminError(404, "not_found", `server "${serverName}" has no prompt named "${name}"`, "name");
    return { snap, serverId: service.serverId, item };
  }

  async function createPrompt(org: OrgContext, body: CreatePromptBody): Promise<AdminPrompt> {
    checkTemplate(body);
    const serverName = body.server ?? null;
    const snap = await loadSnapshot(deps.db, org.orgId);
    let serverId: string | null = null;
    if (serverName !== null) {
      serverId = (await serverByName(serverName)).id;
      const existing = serverPromptsOf(snap, codePrompts(), [serverName]).get(serverName)!.get(body.name);
      if (existing) {
        throw conflict(
          `server "${serverName}" already offers a prompt "${body.name}": override it with PUT /api/prompts/defaults/${serverName}/${body.name}`,
          "name",
        );
      }
    } else {
      const shown = mergeCatalog(snap, codePrompts()).prompts.get(body.name);
      if (shown && shown.server !== null) {
        throw conflict(
          `server "${shown.server}" already offers a prompt "${body.name}": choose another name or override it`,
          "name",
        );
      }
    }
    const row = await transaction((tx) =>
      tx.prompts.create(org.orgId, {
        serverId,
        name: body.name,
        title: body.title ?? null,
        description: body.description ?? null,
        arguments: body.arguments ?? null,
        messages: body.messages,
      }),
    );
    await after(org, ["prompts"], {
      action: "prompt.create",
      target: { type: "prompt", id: row.id },
      after: body,
    });
    return promptView(org.orgId, (p) => p.id === row.id);
  }

  async function updatePrompt(org: OrgContext, id: string, body: UpdatePromptBody): Promise<AdminPrompt> {
    const current = await repos.prompts.get(org.orgId, id);
    if (!current) throw notFound(`this organization has no prompt with id "${id}"`);
    const next = {
      title: body.title === undefined ? current.title : body.title,
      description: body.description === undefined ? current.description : body.description,
      arguments: body.arguments === undefined ? current.arguments : body.arguments,
      messages: body.messages === undefined ? current.messages : body.messages,
    };
    const server = current.serverId === null ? null : await repos.servers.get(current.serverId);
    const base = server
      ? serverPromptsOf(await loadSnapshot(deps.db, org.orgId), codePrompts(), [server.name])
          .get(server.name)
          ?.get(current.name)
      : undefined;
    if (base) {
      if (body.name !== undefined && body.name !== current.name) {
        throw invalid("an override keeps the name of the prompt it overrides", "name");
      }
      checkTemplate(applyPromptOverride(base.template, next));
    } else {
      if (next.messages === null) throw invalid("an organization's own prompt needs messages", "messages");
      checkTemplate({ arguments: next.arguments ?? undefined, messages: next.messages });
    }
    const row = await transaction((tx) =>
      tx.prompts.update(org.orgId, id, { ...next, ...(body.name === undefined ? {} : { name: body.name }) }),
    );
    if (!row) throw notFound(`this organization has no prompt with id "${id}"`);
    await after(org, ["prompts"], {
      action: "prompt.update",
      target: { type: "prompt", id },
      before: current,
      after: row,
    });
    return promptView(org.orgId, (p) => p.id === id);
  }

  async function deletePrompt(org: OrgContext, id: string): Promise<void> {
    const current = await repos.prompts.get(org.orgId, id);
    const deleted = current && (await transaction((tx) => tx.prompts.delete(org.orgId, id)));
    if (!deleted) throw notFound(`this organization has no prompt with id "${id}"`);
    await after(org, ["prompts"], {
      action: "prompt.delete",
      target: { type: "prompt", id },
      before: current,
    });
  }

  async function overridePrompt(
    org: OrgContext,
    serverName: string,
    name: string,
    body: OverridePromptBody,
  ): Promise<AdminPrompt> {
    const { serverId, item } = await basePrompt(org.orgId, serverName, name);
    const fields = {
      title: body.title ?? null,
      description: body.description ?? null,
      arguments: body.arguments ?? null,
      messages: body.messages ?? null,
    };
    checkTemplate(applyPromptOverride(item.template, fields));
    const row = await transaction(async (tx) => {
      const existing = await tx.prompts.find(org.orgId, serverId, name);
      return existing
        ? (await tx.prompts.update(org.orgId, existing.id, fields))!
        : tx.prompts.create(org.orgId, { serverId, name, ...fields });
    });
    await after(org, ["prompts"], {
      action: "prompt.override",
      target: { type: "prompt", id: row.id },
      after: { server: serverName, name, ...fields },
    });
    return promptView(org.orgId, (p) => p.id === row.id);
  }

  async function setPromptDisabled(org: OrgContext, serverName: string, name: string, disabled: boolean) {
    const { serverId } = await basePrompt(org.orgId, serverName, name);
    const id = await transaction(async (tx) => {
      const existing = await tx.prompts.find(org.orgId, serverId, name);
      if (!existing) {
        if (!disabled) return null;
        return (await tx.prompts.create(org.orgId, { serverId, name, disabled: true })).id;
      }
      const bare =
        existing.title === null &&
        existing.description === null &&
        existing.arguments === null &&
        existing.messages === null;
      if (!disabled && bare) {
        await tx.prompts.delete(org.orgId, existing.id);
        return null;
      }
      await tx.prompts.update(org.orgId, existing.id, { disabled });
      return existing.id;
    });
    await after(org, ["prompts"], {
      action: disabled ? "prompt.disable" : "prompt.enable",
      target: { type: "prompt", id: id ?? `${serverName}/${name}` },
    });
    return promptView(org.orgId, (p) => p.server === serverName && p.name === name);
  }

  async function revertPrompt(org: OrgContext, serverName: string, name: string): Promise<AdminPrompt> {
    const server = await serverByName(serverName);
    const existing = await repos.prompts.find(org.orgId, server.id, name);
    if (!existing) throw notFound(`prompt "${name}" of ${serverName} has no override in this organization`);
    await transaction((tx) => tx.prompts.delete(org.orgId, existing.id));
    await after(org, ["prompts"], {
      action: "prompt.revert",
      target: { type: "prompt", id: existing.id },
      before: existing,
    });
    return promptView(org.orgId, (p) => p.server === serverName && p.name === name);
  }

  async function previewPrompt(orgId: string, body: PreviewPromptBody): Promise<GetPromptResult> {
    let template: PromptTemplate;
    if (body.template) {
      checkTemplate(body.template);
      template = body.template;
    } else if (body.name !== undefined) {
      const found = (await deps.config.merged(orgId, codePrompts())).prompts.get(body.name);
      if (!found) throw new AdminError(404, "not_found", `no visible prompt is named "${body.name}"`, "name");
      template = found.template;
    } else {
      throw new AdminError(400, "bad_request", "give the name of a prompt or a template to preview", "name");
    }
    try {
      return renderPrompt(template, body.arguments ?? {});
    } catch (error) {
      if (error instanceof PromptArgumentError) {
        const [first] = error.data;
        throw invalid(error.message, first ? `arguments.${first.path}` : undefined);
      }
      if (error instanceof PromptTemplateError) throw invalid(error.message);
      throw error;
    }
  }

  // ---- resources -------------------------------------------------------------------------------------

  async function listResources(orgId: string): Promise<AdminResource[]> {
    const [snap, rows] = await Promise.all([loadSnapshot(deps.db, orgId), repos.resources.list(orgId)]);
    const updated = new Map(rows.map((r) => [r.id, r.updatedAt]));
    const merged = mergeCatalog(snap, codePrompts());
    const out: AdminResource[] = [];
    const claimed = new Set<string>();
    const view = (
      id: string | null,
      fields: {
        uri: string;
        name: string;
        server: string | null;
        source: AdminResource["source"];
        disabled: boolean;
      },
      rest: { title?: string; description?: string; mimeType?: string; text?: string; blob?: string },
    ): AdminResource => {
      const shown = merged.resources.get(fields.uri);
      return {
        id,
        ...fields,
        visible: !fields.disabled && shown?.source === fields.source,
        ...rest,
        size: contentSize(rest.text, rest.blob),
        updatedAt: id && updated.has(id) ? iso(updated.get(id)!) : null,
      };
    };
    for (const d of snap.defaultResources) {
      const row = snap.orgResources.find((r) => r.uri === d.uri);
      if (row) claimed.add(row.id);
      const overridden =
        row &&
        [row.name, row.title, row.description, row.mimeType, row.text, row.blob].some((x) => x !== null);
      const ownContent = row && (row.text !== null || row.blob !== null);
      out.push(
        view(
          row?.id ?? null,
          {
            uri: d.uri,
            name: row?.name ?? d.name,
            server: d.server,
            source: overridden ? "override" : "default",
            disabled: row?.disabled ?? false,
          },
          stripNulls({
            title: row?.title ?? d.title,
            description: row?.description ?? d.description,
            mimeType: row?.mimeType ?? d.mimeType,
            text: ownContent ? row.text : d.text,
            blob: ownContent ? row.blob : d.blob,
          }),
        ),
      );
    }
    for (const row of snap.orgResources) {
      if (claimed.has(row.id) || row.name === null) continue;
      out.push(
        view(
          row.id,
          { uri: row.uri, name: row.name, server: row.server, source: "org", disabled: row.disabled },
          stripNulls({
            title: row.title,
            description: row.description,
            mimeType: row.mimeType,
            text: row.text,
            blob: row.blob,
          }),
        ),
      );
    }
    return out.sort((a, b) => a.uri.localeCompare(b.uri));
  }

  async function resourceView(orgId: string, uri: string): Promise<AdminResource> {
    const found = (await listResources(orgId)).find((r) => r.uri === uri);
    if (!found) throw notFound(`resource "${uri}" is not part of this organization's catalogue`);
    return found;
  }

  function checkContent(text: string | null | undefined, blob: string | null | undefined, required: boolean) {
    const hasText = text !== null && text !== undefined;
    const hasBlob = blob !== null && blob !== undefined;
    if (hasText && hasBlob) throw invalid("a resource has either text or blob, not both", "blob");
    if (required && !hasText && !hasBlob) throw invalid("a resource needs text or a base64 blob", "text");
  }

  async function createResource(org: OrgContext, body: CreateResourceBody): Promise<AdminResource> {
    checkContent(body.text, body.blob, true);
    const serverId = body.server ? (await serverByName(body.server)).id : null;
    if (await repos.resources.getDefault(body.uri)) {
      throw conflict(
        `"${body.uri}" is a server's default resource: override it with PUT /api/resources/override`,
        "uri",
      );
    }
    const row = await transaction((tx) =>
      tx.resources.create(org.orgId, {
        serverId,
        uri: body.uri,
        name: body.name,
        title: body.title ?? null,
        description: body.description ?? null,
        mimeType: body.mimeType ?? null,
        text: body.text ?? null,
        blob: body.blob ?? null,
      }),
    );
    await after(
      org,
      ["resources"],
      {
        action: "resource.create",
        target: { type: "resource", id: row.id },
        after: { ...body, text: undefined, blob: undefined },
      },
      [body.uri],
    );
    return resourceView(org.orgId, row.uri);
  }

  async function updateResource(
    org: OrgContext,
    id: string,
    body: UpdateResourceBody,
  ): Promise<AdminResource> {
    const current = await repos.resources.get(org.orgId, id);
    if (!current) throw notFound(`this organization has no resource with id "${id}"`);
    checkContent(body.text, body.blob, false);
    const next = {
      name: body.name === undefined ? current.name : body.name,
      title: body.title === undefined ? current.title : body.title,
      description: body.description === undefined ? current.description : body.description,
      mimeType: body.mimeType === undefined ? current.mimeType : body.mimeType,
      // Setting one kind of content replaces the other.
      text: body.text !== undefined ? body.text : body.blob ? null : current.text,
      blob: body.blob !== undefined ? body.blob : body.text ? null : current.blob,
    };
    const isOverride = (await repos.resources.getDefault(current.uri)) !== null;
    if (!isOverride) {
      if (next.name === null) throw invalid("an organization's own resource needs a name", "name");
      checkContent(next.text, next.blob, true);
    }
    const row = await transaction((tx) => tx.resources.update(org.orgId, id, next));
    if (!row) throw notFound(`this organization has no resource with id "${id}"`);
    await after(org, ["resources"], { action: "resource.update", target: { type: "resource", id } }, [
      row.uri,
    ]);
    return resourceView(org.orgId, row.uri);
  }

  async function deleteResource(org: OrgContext, id: string): Promise<void> {
    const current = await repos.resources.get(org.orgId, id);
    const deleted = current && (await transaction((tx) => tx.resources.delete(org.orgId, id)));
    if (!deleted) throw notFound(`this organization has no resource with id "${id}"`);
    await after(org, ["resources"], { action: "resource.delete", target: { type: "resource", id } }, [
      current.uri,
    ]);
  }

  async function defaultResourceFor(orgId: string, uri: string) {
    const snap = await loadSnapshot(deps.db, orgId);
    const d = snap.defaultResources.find((r) => r.uri === uri);
    if (!d) {
      throw new AdminError(
        404,
        "not_found",
        `"${uri}" is not a default resource of a server this organization has enabled`,
        "uri",
      );
    }
    return snap.servers.find((s) => s.name === d.server)!.serverId;
  }

  async function overrideResource(org: OrgContext, body: OverrideResourceBody): Promise<AdminResource> {
    const serverId = await defaultResourceFor(org.orgId, body.uri);
    checkContent(body.text, body.blob, false);
    const fields = {
      name: body.name ?? null,
      title: body.title ?? null,
      description: body.description ?? null,
      mimeType: body.mimeType ?? null,
      text: body.text ?? null,
      blob: body.blob ?? null,
    };
    const row = await transaction(async (tx) => {
      const existing = await tx.resources.getByUri(org.orgId, body.uri);
      return existing
        ? (await tx.resources.update(org.orgId, existing.id, fields))!
        : tx.resources.create(org.orgId, { serverId, uri: body.uri, ...fields });
    });
    await after(
      org,
      ["resources"],
      { action: "resource.override", target: { type: "resource", id: row.id } },
      [body.uri],
    );
    return resourceView(org.orgId, body.uri);
  }

  async function setResourceDisabled(
    org: OrgContext,
    uri: string,
    disabled: boolean,
  ): Promise<AdminResource> {
    const serverId = await defaultResourceFor(org.orgId, uri);
    await transaction(async (tx) => {
      const existing = await tx.resources.getByUri(org.orgId, uri);
      if (!existing) {
        if (disabled) await tx.resources.create(org.orgId, { serverId, uri, disabled: true });
        return;
      }
      const bare = [
        existing.name,
        existing.title,
        existing.description,
        existing.mimeType,
        existing.text,
        existing.blob,
      ].every((x) => x === null);
      if (!disabled && bare) await tx.resources.delete(org.orgId, existing.id);
      else await tx.resources.update(org.orgId, existing.id, { disabled });
    });
    await after(
      org,
      ["resources"],
      { action: disabled ? "resource.disable" : "resource.enable", target: { type: "resource", id: uri } },
      [uri],
    );
    return resourceView(org.orgId, uri);
  }

  // ---- services, settings, secrets, own credentials ---------------------------------------------------

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

  async function setSecret(
    org: OrgContext,
    name: string,
    secret: string,
    value: string | null,
  ): Promise<AdminService> {
    const server = await serverByName(name);
    await transaction(async (tx) => {
      const current = await tx.services.get(org.orgId, server.id);
      const secrets = { ...(current?.secrets ?? {}) };
      if (value === null) {
        if (!(secret in secrets))
          throw new AdminError(404, "not_found", `secret "${secret}" of ${name} is not set`, "name");
        delete secrets[secret];
      } else {
        secrets[secret] = deps.config.secrets.encrypt(value, {
          orgId: org.orgId,
          server: name,
          name: secret,
        });
      }
      if (current) await tx.services.update(org.orgId, server.id, { secrets });
      else await tx.services.create(org.orgId, server.id, { enabled: false, secrets });
    });
    await after(org, [], {
      action: value === null ? "service.secret.clear" : "service.secret.set",
      target: { type: "service", id: name },
      after: { secret, set: value !== null },
    });
    return serviceView(org, name);
  }

  async function setCredential(
    org: OrgContext,
    name: string,
    secret: string,
    value: string | null,
  ): Promise<AdminService> {
    const userId = org.userId;
    if (!userId) {
      throw new AdminError(
        400,
        "bad_request",
        "personal credentials belong to a member: this request is not made by a user",
      );
    }
    const server = await serverByName(name);
    await transaction(async (tx) => {
      const current = await tx.credentials.get(org.orgId, userId, server.id);
      const secrets = { ...(current?.secrets ?? {}) };
      if (value === null) {
        if (!(secret in secrets)) {
          throw new AdminError(404, "not_found", `you have no credential "${secret}" for ${name}`, "name");
        }
        delete secrets[secret];
      } else {
        secrets[secret] = deps.config.secrets.encrypt(value, {
          orgId: org.orgId,
          server: name,
          name: secret,
          userId,
        });
      }
      if (Object.keys(secrets).length === 0) await tx.credentials.remove(org.orgId, userId, server.id);
      else await tx.credentials.upsert(org.orgId, userId, server.id, secrets);
    });
    await after(org, [], {
      action: value === null ? "credential.clear" : "credential.set",
      target: { type: "service", id: name },
      after: { secret, set: value !== null },
    });
    return serviceView(org, name);
  }

  return {
    listPrompts,
    createPrompt,
    updatePrompt,
    deletePrompt,
    overridePrompt,
    setPromptDisabled,
    revertPrompt,
    previewPrompt,
    listResources,
    createResource,
    updateResource,
    deleteResource,
    overrideResource,
    setResourceDisabled,
    listServices,
    updateService,
    setSecret,
    setCredential,
  };
}
