import { PromptArgument, PromptMessageTemplate } from "@omni/contracts";
import type { Database } from "@omni/db";
import * as v from "valibot";

/**
 * Reading an org's configuration from Postgres: one statement (a Drizzle relational query) loads the
 * org's services with their servers' defaults, and its own prompts and resources. The result is the
 * cached snapshot (JSON-serialisable; validated by `decodeSnapshot` when read back from Redis).
 */

const SecretEnvelope = v.object({ kid: v.string(), iv: v.string(), ct: v.string(), tag: v.string() });
const SecretEnvelopes = v.record(v.string(), SecretEnvelope);

const nullableString = v.nullable(v.string());

/** A resource's own fields; `name` is required on a server's default and optional on an org's row. */
const resourceEntries = <Name extends v.GenericSchema>(name: Name) => ({
  uri: v.string(),
  name,
  title: nullableString,
  description: nullableString,
  mimeType: nullableString,
  text: nullableString,
  blob: nullableString,
});
const RESOURCE_FIELDS = ["uri", "name", "title", "description", "mimeType", "text", "blob"] as const;

/** An org's own row: its id, the server it belongs to (null: every server), its fields, disabled or not. */
const orgRow = <Entries extends v.ObjectEntries>(entries: Entries) =>
  v.object({ id: v.string(), server: nullableString, ...entries, disabled: v.boolean() });

const Snapshot = v.object({
  orgId: v.string(),
  servers: v.array(
    v.object({
      serverId: v.string(),
      name: v.string(),
      enabled: v.boolean(),
      settings: v.record(v.string(), v.unknown()),
      secrets: SecretEnvelopes,
    }),
  ),
  defaultPrompts: v.array(
    v.object({
      server: v.string(),
      name: v.string(),
      title: v.optional(v.string()),
      description: v.optional(v.string()),
      arguments: v.optional(v.array(PromptArgument)),
      messages: v.array(PromptMessageTemplate),
    }),
  ),
  orgPrompts: v.array(
    orgRow({
      name: v.string(),
      title: nullableString,
      description: nullableString,
      arguments: v.nullable(v.array(PromptArgument)),
      messages: v.nullable(v.array(PromptMessageTemplate)),
    }),
  ),
  defaultResources: v.array(v.object({ server: v.string(), ...resourceEntries(v.string()) })),
  orgResources: v.array(orgRow(resourceEntries(nullableString))),
});

/** An org's configuration as loaded and cached. */
export type OrgSnapshot = v.InferOutput<typeof Snapshot>;

export function decodeSnapshot(raw: unknown): OrgSnapshot | undefined {
  const result = v.safeParse(Snapshot, raw);
  return result.success ? result.output : undefined;
}

function opt(value: string | null): string | undefined {
  return value ?? undefined;
}

function pick<Row, Key extends keyof Row>(row: Row, keys: readonly Key[]): Pick<Row, Key> {
  return Object.fromEntries(keys.map((key) => [key, row[key]])) as Pick<Row, Key>;
}

/** Loads an org's snapshot in one query (an unknown org yields an empty one). */
export async function loadSnapshot(db: Database, orgId: string): Promise<OrgSnapshot> {
  const org = await db.query.organizations.findFirst({
    where: (o, { eq }) => eq(o.id, orgId),
    columns: { id: true },
    with: {
      services: {
        columns: { serverId: true, enabled: true, settings: true, secrets: true },
        with: { server: { columns: { name: true }, with: { defaultPrompts: true, defaultResources: true } } },
      },
      prompts: true,
      resources: true,
    },
  });
  const services = (org?.services ?? [])
    .map((s) => ({
      serverId: s.serverId,
      name: s.server.name,
      enabled: s.enabled,
      settings: s.settings,
      secrets: s.secrets,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const serverName = new Map(services.map((s) => [s.serverId, s.name]));
  const enabledServices = (org?.services ?? []).filter((s) => s.enabled);
  // The org's own rows, named by server; rows of servers it has no service for can never be visible.
  const own = <Row extends { id: string; serverId: string | null; disabled: boolean }, Key extends keyof Row>(
    rows: Row[],
    fields: readonly Key[],
  ) =>
    rows
      .filter((r) => r.serverId === null || serverName.has(r.serverId))
      .map((r) => ({
        id: r.id,
        server: r.serverId === null ? null : serverName.get(r.serverId)!,
        ...pick(r, fields),
        disabled: r.disabled,
      }));
  const snapshot = {
    orgId,
    servers: services,
    defaultPrompts: enabledServices.flatMap((s) =>
      s.server.defaultPrompts.map((p) => ({
        server: s.server.name,
        name: p.name,
        title: opt(p.title),
        description: opt(p.description),
        arguments: p.arguments.length ? p.arguments : undefined,
        messages: p.messages,
      })),
    ),
    orgPrompts: own(org?.prompts ?? [], ["name", "title", "description", "arguments", "messages"]),
    defaultResources: enabledServices.flatMap((s) =>
      s.server.defaultResources.map((r) => ({ server: s.server.name, ...pick(r, RESOURCE_FIELDS) })),
    ),
    orgResources: own(org?.resources ?? [], RESOURCE_FIELDS),
  };
  // JSON round trip so L1, L2 and fresh loads hand out the same shape (no undefined keys, no Dates).
  return decodeSnapshot(JSON.parse(JSON.stringify(snapshot)))!;
}

/** A member's own credentials in an org, by server id (encrypted envelopes). */
const MemberCredentials = v.record(v.string(), SecretEnvelopes);
export type MemberCredentials = v.InferOutput<typeof MemberCredentials>;

export function decodeMemberCredentials(raw: unknown): MemberCredentials | undefined {
  const result = v.safeParse(MemberCredentials, raw);
  return result.success ? result.output : undefined;
}

export async function loadMemberCredentials(
  db: Database,
  orgId: string,
  userId: string,
): Promise<MemberCredentials> {
  const rows = await db.query.userServiceCredentials.findMany({
    where: (c, { and, eq }) => and(eq(c.organizationId, orgId), eq(c.userId, userId)),
    columns: { serverId: true, secrets: true },
  });
  return Object.fromEntries(rows.map((r) => [r.serverId, r.secrets]));
}
