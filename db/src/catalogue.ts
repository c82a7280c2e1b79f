import type { ServerCapabilities } from "@omni/contracts";
import { and, eq, notInArray, sql } from "drizzle-orm";
import type { Database } from "./client.ts";
import {
  defaultPrompts,
  defaultResources,
  mcpServers,
  organizationServices,
  organizations,
} from "./schema/index.ts";
import { DEMO_ORG_ID } from "./seed.ts";
import { checkDefaultPrompt } from "./validation.ts";

/** What `registerCatalogue` changed (all zero when the database already matched the definition). */
export interface CatalogueChange {
  serverId: string;
  /** Whether the catalogue row was inserted now (the first discovery of this server). */
  created: boolean;
  /** Rows inserted or updated, plus defaults the server no longer declares that were removed. */
  changed: number;
}

/** The deterministic id of a catalogue row (`srv_linear`), its defaults' (`dpr_linear_<name>`). */
const rowId = (prefix: string, server: string, name: string) =>
  `${prefix}_${server}_${name.replaceAll(/[^A-Za-z0-9_]/g, "_")}`;

/** `excluded.col is distinct from table.col` for each column: update a row only when it differs. */
function differs(table: string, columns: string[]) {
  return sql.raw(columns.map((c) => `excluded."${c}" is distinct from "${table}"."${c}"`).join(" or "));
}

/**
 * Upserts one domain server's catalogue entry from its own definition (`GET /rpc/capabilities`): the
 * `mcp_servers` row (title, description, default-enabled), its `prompts` as `default_prompts` and its
 * `defaultResources` as `default_resources`; defaults the definition no longer has are removed (an
 * organization's override of one stays in its rows, hidden). The demo organization, when present, gets
 * the server enabled (an existing row, even a disabled one, is left alone).
 *
 * Idempotent and safe when several gateway replicas register the same server at once: every write is
 * an `insert ... on conflict do update` that only touches rows that differ, in one transaction.
 */
export async function registerCatalogue(db: Database, caps: ServerCapabilities): Promise<CatalogueChange> {
  const name = caps.server.name;
  // Checked against the contracts before any write (the server id is set per row below).
  const prompts = caps.prompts.map((p) =>
    checkDefaultPrompt({
      id: rowId("dpr", name, p.name),
      serverId: `srv_${name}`,
      name: p.name,
      title: p.title ?? null,
      description: p.description ?? null,
      arguments: p.arguments ?? [],
      messages: p.messages,
    }),
  );
  const resources = caps.defaultResources ?? [];
  return db.transaction(async (tx) => {
    const server = {
      id: `srv_${name}`,
      name,
      title: caps.server.title ?? name,
      description: caps.server.description ?? "",
      defaultEnabled: caps.server.defaultEnabled ?? true,
    };
    // `xmax = 0` only on a row this statement inserted (Postgres and PGlite alike).
    const [upserted] = await tx
      .insert(mcpServers)
      .values(server)
      .onConflictDoUpdate({
        target: mcpServers.name,
        set: {
          title: server.title,
          description: server.description,
          defaultEnabled: server.defaultEnabled,
          updatedAt: new Date(),
        },
        setWhere: differs("mcp_servers", ["title", "description", "default_enabled"]),
      })
      .returning({ id: mcpServers.id, inserted: sql<boolean>`(xmax = 0)` });
    let changed = upserted ? 1 : 0;
    const created = upserted?.inserted === true;
    const serverId =
      upserted?.id ??
      (await tx.select({ id: mcpServers.id }).from(mcpServers).where(eq(mcpServers.name, name)))[0]!.id;

    for (const prompt of prompts) {
      const rows = await tx
        .insert(defaultPrompts)
        .values({ ...prompt, serverId })
        .onConflictDoUpdate({
          target: [defaultPrompts.serverId, defaultPrompts.name],
          set: {
            title: prompt.title,
            description: prompt.description,
            arguments: prompt.arguments,
            messages: prompt.messages,
            updatedAt: new Date(),
          },
          setWhere: differs("default_prompts", ["title", "description", "arguments", "messages"]),
        })
        .returning({ id: defaultPrompts.id });
      changed += rows.length;
    }
    const keptPrompts = prompts.map((p) => p.name);
    const droppedPrompts = await tx
      .delete(defaultPrompts)
      .where(
        keptPrompts.length > 0
          ? and(eq(defaultPrompts.serverId, serverId), notInArray(defaultPrompts.name, keptPrompts))
          : eq(defaultPrompts.serverId, serverId),
      )
      .returning({ id: defaultPrompts.id });
    changed += droppedPrompts.length;

    for (const resource of resources) {
      const row = {
        id: rowId("drs", name, resource.name),
        serverId,
        uri: resource.uri,
        name: resource.name,
        title: resource.title ?? null,
        description: resource.description ?? null,
        mimeType: resource.mimeType,
        text: resource.text,
        blob: null,
      };
      const rows = await tx
        .insert(defaultResources)
        .values(row)
        .onConflictDoUpdate({
          target: defaultResources.uri,
          set: {
            serverId,
            name: row.name,
            title: row.title,
            description: row.description,
            mimeType: row.mimeType,
            text: row.text,
            blob: null,
            updatedAt: new Date(),
          },
          setWhere: differs("default_resources", [
            "server_id",
            "name",
            "title",
            "description",
            "mime_type",
            "text",
            "blob",
          ]),
        })
        .returning({ id: defaultResources.id });
      changed += rows.length;
    }
    const keptUris = resources.map((r) => r.uri);
    const droppedResources = await tx
      .delete(defaultResources)
      .where(
        keptUris.length > 0
          ? and(eq(defaultResources.serverId, serverId), notInArray(defaultResources.uri, keptUris))
          : eq(defaultResources.serverId, serverId),
      )
      .returning({ id: defaultResources.id });
    changed += droppedResources.length;

    // The demo organization (local development, the demo deployment) sees every server it can reach.
    const [demo] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, DEMO_ORG_ID));
    if (demo && server.defaultEnabled) {
      const rows = await tx
        .insert(organizationServices)
        .values({ organizationId: DEMO_ORG_ID, serverId, enabled: true })
        .onConflictDoNothing()
        .returning({ id: organizationServices.id });
      changed += rows.length;
    }
    return { serverId, created, changed };
  });
}
