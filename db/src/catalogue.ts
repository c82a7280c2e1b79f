import type { ServerCapabilities } from "@omni/contracts";
import { and, eq, notInArray, or, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
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

/** `col is distinct from value or ...`: an update touches a row only when something differs. */
function differs(pairs: [AnyPgColumn, unknown][]): SQL {
  return or(
    ...pairs.map(([column, value]) =>
      value !== null && typeof value === "object"
        ? sql`${column} is distinct from ${JSON.stringify(value)}::jsonb`
        : sql`${column} is distinct from ${value}`,
    ),
  )!;
}

/**
 * Upserts one domain server's catalogue entry from its own definition (`GET /rpc/capabilities`): the
 * `mcp_servers` row (title, description, default-enabled), its `prompts` as `default_prompts` and its
 * `defaultResources` as `default_resources`; defaults the definition no longer has are removed (an
 * organization's override of one stays in its rows, hidden). The demo organization, when present, gets
 * the server enabled (an existing row, even a disabled one, is left alone).
 *
 * Idempotent and safe when several gateway replicas register the same server at once: every row is an
 * `insert ... on conflict do nothing` then an update only where it differs, in one transaction.
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
    // Each row: `insert ... on conflict do nothing` (every unique index an arbiter, so two replicas
    // inserting the same new row at once both succeed), then an update only where something differs.
    const [inserted] = await tx
      .insert(mcpServers)
      .values(server)
      .onConflictDoNothing()
      .returning({ id: mcpServers.id });
    const created = inserted !== undefined;
    let changed = created ? 1 : 0;
    if (!created) {
      const updated = await tx
        .update(mcpServers)
        .set({
          title: server.title,
          description: server.description,
          defaultEnabled: server.defaultEnabled,
          updatedAt: new Date(),
        })
        .where(
          and(
            eq(mcpServers.name, name),
            differs([
              [mcpServers.title, server.title],
              [mcpServers.description, server.description],
              [mcpServers.defaultEnabled, server.defaultEnabled],
            ]),
          ),
        )
        .returning({ id: mcpServers.id });
      changed += updated.length;
    }
    const serverId =
      inserted?.id ??
      (await tx.select({ id: mcpServers.id }).from(mcpServers).where(eq(mcpServers.name, name)))[0]!.id;

    for (const prompt of prompts) {
      const row = { ...prompt, serverId };
      const added = await tx
        .insert(defaultPrompts)
        .values(row)
        .onConflictDoNothing()
        .returning({ id: defaultPrompts.id });
      if (added.length > 0) {
        changed++;
        continue;
      }
      const updated = await tx
        .update(defaultPrompts)
        .set({
          title: row.title,
          description: row.description,
          arguments: row.arguments,
          messages: row.messages,
          updatedAt: new Date(),
        })
        .where(
          and(
            eq(defaultPrompts.serverId, serverId),
            eq(defaultPrompts.name, row.name),
            differs([
              [defaultPrompts.title, row.title],
              [defaultPrompts.description, row.description],
              [defaultPrompts.arguments, row.arguments],
              [defaultPrompts.messages, row.messages],
            ]),
          ),
        )
        .returning({ id: defaultPrompts.id });
      changed += updated.length;
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
        id: rowId("drs", name, resource.uri),
        serverId,
        uri: resource.uri,
        name: resource.name,
        title: resource.title ?? null,
        description: resource.description ?? null,
        mimeType: resource.mimeType,
        text: resource.text,
        blob: null,
      };
      const added = await tx
        .insert(defaultResources)
        .values(row)
        .onConflictDoNothing()
        .returning({ id: defaultResources.id });
      if (added.length > 0) {
        changed++;
        continue;
      }
      const updated = await tx
        .update(defaultResources)
        .set({
          serverId,
          name: row.name,
          title: row.title,
          description: row.description,
          mimeType: row.mimeType,
          text: row.text,
          blob: null,
          updatedAt: new Date(),
        })
        .where(
          and(
            eq(defaultResources.uri, row.uri),
            differs([
              [defaultResources.serverId, serverId],
              [defaultResources.name, row.name],
              [defaultResources.title, row.title],
              [defaultResources.description, row.description],
              [defaultResources.mimeType, row.mimeType],
              [defaultResources.text, row.text],
              [defaultResources.blob, null],
            ]),
          ),
        )
        .returning({ id: defaultResources.id });
      changed += updated.length;
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
