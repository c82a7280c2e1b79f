import type {
  AdminPrompt,
  CreatePromptBody,
  GetPromptResult,
  OrgContext,
  OverridePromptBody,
  PreviewPromptBody,
  PromptTemplate,
  UpdatePromptBody,
} from "@omni/contracts";
import { PromptArgumentError, PromptTemplateError, renderPrompt, templateIssues } from "@omni/kit";
import { applyPromptOverride, mergeCatalog, serverPromptsOf } from "../config/merge.ts";
import { loadSnapshot, type OrgSnapshot } from "../config/store.ts";
import { type AdminCore, AdminError, conflict, invalid, iso, notFound, stripNulls } from "./core.ts";

/**
 * The admin operations on an org's prompts: the merged catalogue as the dashboard shows it, the org's own
 * prompts, overrides of the servers' prompts, disabling, reverting and previews.
 */

function checkTemplate(template: Pick<PromptTemplate, "arguments" | "messages">): void {
  const [issue] = templateIssues(template);
  if (issue) throw invalid(issue.message, issue.field);
}

export function createPromptAdmin(core: AdminCore) {
  const { deps, repos, codePrompts, after, transaction, serverByName } = core;

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

  return {
    listPrompts,
    createPrompt,
    updatePrompt,
    deletePrompt,
    overridePrompt,
    setPromptDisabled,
    revertPrompt,
    previewPrompt,
  };
}
