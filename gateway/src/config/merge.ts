import type { ItemSource, PromptMessageTemplate, PromptTemplate } from "@omni/contracts";
import type { OrgSnapshot } from "./store.ts";

/**
 * The merge of an organization's configuration: one pure function, no I/O.
 *
 * Precedence, lowest to highest, for the servers the org has enabled:
 *  1. prompts declared in code by the running servers (their capabilities);
 *  2. the database's system defaults per server (`default_prompts`, `default_resources`): a default
 *     replaces a code prompt of the same name on the same server;
 *  3. the org's rows (`organization_prompts`, `organization_resources`): a row naming a server item
 *     overrides it field by field (null inherits) or hides it (`disabled`); any other row is the org's own
 *     item (server-less, or tied to a server and visible only while that server is enabled).
 * Name clashes across sources are resolved deterministically: org-own items first, then servers in name
 * order; a later item with a taken name is dropped.
 */

/** An org's use of one catalogue server (from `organization_services`). */
export type SnapshotServer = Pick<OrgSnapshot["servers"][number], "name" | "enabled">;
export type SnapshotOrgPrompt = OrgSnapshot["orgPrompts"][number];
export type SnapshotOrgResource = OrgSnapshot["orgResources"][number];

/**
 * What the merge reads from the database for one org: the cached snapshot (`store.ts`, JSON-serialisable:
 * it is cached in Redis) less what only the service config needs (the org id, settings and secrets).
 */
export type MergeInput = Omit<OrgSnapshot, "orgId" | "servers"> & { servers: SnapshotServer[] };

export interface MergedPrompt {
  server: string | null;
  source: ItemSource;
  template: PromptTemplate;
}

export interface MergedResource {
  server: string | null;
  source: ItemSource;
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  content: { text: string } | { blob: string };
}

export interface MergedCatalog {
  enabledServers: string[];
  /** By prompt name, in listing order. */
  prompts: Map<string, MergedPrompt>;
  /** By URI, in listing order. */
  resources: Map<string, MergedResource>;
}

function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** A server prompt with an org row's non-null fields applied. */
export function applyPromptOverride(
  base: PromptTemplate,
  row: Pick<SnapshotOrgPrompt, "title" | "description" | "arguments" | "messages">,
): PromptTemplate {
  return withoutUndefined({
    name: base.name,
    title: row.title ?? base.title,
    description: row.description ?? base.description,
    arguments: row.arguments ?? base.arguments,
    messages: row.messages ?? base.messages,
  });
}

function ownPrompt(row: SnapshotOrgPrompt & { messages: PromptMessageTemplate[] }): PromptTemplate {
  return withoutUndefined({
    name: row.name,
    title: opt(row.title),
    description: opt(row.description),
    arguments: opt(row.arguments),
    messages: row.messages,
  });
}

function resourceContent(text: string | null, blob: string | null): MergedResource["content"] | null {
  if (text !== null) return { text };
  if (blob !== null) return { blob };
  return null;
}

/** The servers' own prompts before the org's rows: code prompts, replaced by database defaults by name. */
export function serverPromptsOf(
  input: Pick<MergeInput, "defaultPrompts">,
  codePrompts: ReadonlyMap<string, PromptTemplate[]>,
  servers: string[],
): Map<string, Map<string, { template: PromptTemplate; source: ItemSource }>> {
  const result = new Map<string, Map<string, { template: PromptTemplate; source: ItemSource }>>();
  for (const server of servers) {
    const byName = new Map<string, { template: PromptTemplate; source: ItemSource }>();
    for (const template of codePrompts.get(server) ?? [])
      byName.set(template.name, { template, source: "code" });
    result.set(server, byName);
  }
  for (const { server, ...template } of input.defaultPrompts) {
    result.get(server)?.set(template.name, { template, source: "default" });
  }
  return result;
}

/** Merges defaults, code-declared prompts and the org's rows into the org's visible catalogue. */
export function mergeCatalog(
  input: MergeInput,
  codePrompts: ReadonlyMap<string, PromptTemplate[]>,
): MergedCatalog {
  const enabledServers = input.servers
    .filter((s) => s.enabled)
    .map((s) => s.name)
    .sort();
  const enabled = new Set(enabledServers);

  const serverPrompts = serverPromptsOf(input, codePrompts, enabledServers);

  const ownPrompts: MergedPrompt[] = [];
  for (const row of input.orgPrompts) {
    const target = row.server === null ? undefined : serverPrompts.get(row.server)?.get(row.name);
    if (row.server !== null && !enabled.has(row.server)) continue;
    if (target) {
      if (row.disabled) serverPrompts.get(row.server!)!.delete(row.name);
      else
        serverPrompts
          .get(row.server!)!
          .set(row.name, { template: applyPromptOverride(target.template, row), source: "override" });
      continue;
    }
    if (row.disabled || row.messages === null) continue; // an override of something no longer offered
    ownPrompts.push({
      server: row.server,
      source: "org",
      template: ownPrompt({ ...row, messages: row.messages }),
    });
  }

  const prompts = new Map<string, MergedPrompt>();
  for (const p of ownPrompts.sort((a, b) => a.template.name.localeCompare(b.template.name))) {
    if (!prompts.has(p.template.name)) prompts.set(p.template.name, p);
  }
  for (const server of enabledServers) {
    const items = [...serverPrompts.get(server)!.values()].sort((a, b) =>
      a.template.name.localeCompare(b.template.name),
    );
    for (const { template, source } of items) {
      if (!prompts.has(template.name)) prompts.set(template.name, { server, source, template });
    }
  }

  // Resources: defaults of enabled servers, then org rows by URI.
  const serverResources = new Map<string, MergedResource>();
  for (const d of input.defaultResources) {
    if (!enabled.has(d.server)) continue;
    const content = resourceContent(d.text, d.blob);
    if (!content) continue;
    serverResources.set(
      d.uri,
      withoutUndefined({
        server: d.server,
        source: "default" as const,
        uri: d.uri,
        name: d.name,
        title: opt(d.title),
        description: opt(d.description),
        mimeType: opt(d.mimeType),
        content,
      }),
    );
  }
  const defaultUris = new Set(input.defaultResources.map((d) => d.uri));
  const ownResources: MergedResource[] = [];
  for (const row of input.orgResources) {
    const base = serverResources.get(row.uri);
    if (base) {
      if (row.disabled) {
        serverResources.delete(row.uri);
        continue;
      }
      serverResources.set(
        row.uri,
        withoutUndefined({
          ...base,
          source: "override" as const,
          name: row.name ?? base.name,
          title: row.title ?? base.title,
          description: row.description ?? base.description,
          mimeType: row.mimeType ?? base.mimeType,
          content: resourceContent(row.text, row.blob) ?? base.content,
        }),
      );
      continue;
    }
    // An override of a default that is not visible (server disabled) stays hidden.
    if (row.disabled || defaultUris.has(row.uri)) continue;
    if (row.server !== null && !enabled.has(row.server)) continue;
    const content = resourceContent(row.text, row.blob);
    if (!content || row.name === null) continue;
    ownResources.push(
      withoutUndefined({
        server: row.server,
        source: "org" as const,
        uri: row.uri,
        name: row.name,
        title: opt(row.title),
        description: opt(row.description),
        mimeType: opt(row.mimeType),
        content,
      }),
    );
  }
  const resources = new Map<string, MergedResource>();
  const byUri = (a: MergedResource, b: MergedResource) => a.uri.localeCompare(b.uri);
  for (const r of ownResources.sort(byUri)) resources.set(r.uri, r);
  for (const r of [...serverResources.values()].sort(byUri))
    if (!resources.has(r.uri)) resources.set(r.uri, r);

  return { enabledServers, prompts, resources };
}
