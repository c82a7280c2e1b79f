import type {
  AdminResource,
  CreateResourceBody,
  OrgContext,
  OverrideResourceBody,
  UpdateResourceBody,
} from "@omni/contracts";
import { mergeCatalog } from "../config/merge.ts";
import { loadSnapshot } from "../config/store.ts";
import { type AdminCore, AdminError, conflict, invalid, iso, notFound, stripNulls } from "./core.ts";

/** The admin operations on an org's resources: its own, overrides of the servers' defaults, disabling. */

function contentSize(text: string | undefined, blob: string | undefined): number {
  if (text !== undefined) return Buffer.byteLength(text, "utf8");
  return blob === undefined ? 0 : Buffer.from(blob, "base64").length;
}

export function createResourceAdmin(core: AdminCore) {
  const { deps, repos, codePrompts, after, transaction, serverByName } = core;

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

  return {
    listResources,
    createResource,
    updateResource,
    deleteResource,
    overrideResource,
    setResourceDisabled,
  };
}
