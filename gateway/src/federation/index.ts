import type { Prompt, Resource, ResourceTemplate, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { FederatedServer } from "@omni/db";
import type { SecretBox } from "../config/secrets.ts";
import type { Json } from "../mcp/protocol.ts";
import { templatePattern } from "../registry/index.ts";
import { createLogger } from "../security/log.ts";
import {
  type ConnectionOptions,
  type ConnectionState,
  UpstreamConnection,
  type UpstreamSpec,
} from "./connection.ts";
import { UpstreamEgress } from "./egress.ts";
import { upstreamHeaders } from "./registration.ts";

export type { UpstreamConnection } from "./connection.ts";

export interface FederatedToolRoute {
  connection: UpstreamConnection;
  /** The tool's name on the upstream (without the prefix). */
  name: string;
  /** What clients see: the upstream's tool, renamed `<prefix>_<name>`, everything else intact (`_meta.ui`). */
  tool: Tool;
}

export interface FederatedPromptRoute {
  connection: UpstreamConnection;
  name: string;
  prompt: Prompt;
}

/** What one org sees of its federated upstreams (its own and the global ones). */
export interface FederatedCatalog {
  tools: Map<string, FederatedToolRoute>;
  prompts: Map<string, FederatedPromptRoute>;
  /** Resource URIs are kept as the upstream gives them (`ui://` resources must stay readable as named). */
  resources: Map<string, { connection: UpstreamConnection; resource: Resource }>;
  templates: { connection: UpstreamConnection; template: ResourceTemplate; pattern: RegExp }[];
  instructions: string[];
}

/** One upstream as an org's admin sees it (no secret, no process details). */
export interface FederatedHealth {
  id: string;
  name: string;
  prefix: string;
  transport: UpstreamSpec["transport"];
  url: string | null;
  scope: "organization" | "global";
  enabled: boolean;
  hasAuthSecret: boolean;
  /** `idle`: not connected for this org yet (connections open on the org's first use). */
  state: ConnectionState | "idle";
  lastError: string | null;
  lastConnectedAt: string | null;
  tools: number;
  prompts: number;
  resources: number;
}

export interface FederationOptions {
  /** Every upstream row (`createRepositories(db).federation.operatorList`). */
  list: () => Promise<FederatedServer[]>;
  secrets: SecretBox;
  /** How often the rows are re-read (CLI changes, other replicas). Default 5000 ms. */
  reloadMs?: number;
  /** How often healthy connections are pinged. Default 5000 ms. */
  healthIntervalMs?: number;
  connection?: ConnectionOptions;
  logger?: Pick<Console, "info" | "warn">;
  /** Hosts org-registered upstreams may reach although private (`FEDERATION_ALLOWED_PRIVATE_HOSTS`). */
  allowedPrivateHosts?: readonly string[];
}

const key = (upstreamId: string, orgId: string) => `${upstreamId}\u0000${orgId}`;

/**
 * Federated upstream MCP servers behind the gateway. Connections are pooled one per upstream per
 * organization: an upstream's session state (subscriptions, log level, anything a stateful server keeps
 * per connection) and the server-to-client requests it sends (sampling, elicitation, roots) then belong
 * to exactly one org, so they can only ever reach that org's clients. An org-owned upstream thus has one
 * connection; a global one gets one per org that uses it, opened on that org's first request. Credentials
 * are the upstream's (one auth header per row), so no finer pooling is needed.
 */
/** An upstream's row with its connection's health on this replica (`idle` without a connection). */
export function federatedHealth(row: FederatedServer, connection?: UpstreamConnection): FederatedHealth {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    transport: row.transport,
    url: row.url,
    scope: row.organizationId ? "organization" : "global",
    enabled: row.enabled,
    hasAuthSecret: row.authSecret !== null,
    state: connection?.state ?? "idle",
    lastError: connection?.lastError ?? null,
    lastConnectedAt: connection?.lastConnectedAt ? new Date(connection.lastConnectedAt).toISOString() : null,
    tools: connection?.tools.length ?? 0,
    prompts: connection?.prompts.length ?? 0,
    resources: (connection?.resources.length ?? 0) + (connection?.templates.length ?? 0),
  };
}

export class Federation {
  /** The org-egress guard: org-registered remote upstreams reach only public addresses unless allowed. */
  readonly egress: UpstreamEgress;
  /** Bumped whenever any org's federated catalogue may have changed (views cache against it). */
  version = 0;
  private specs: UpstreamSpec[] = [];
  private rows = new Map<string, FederatedServer>();
  private readonly pool = new Map<string, UpstreamConnection>();
  private readonly changeListeners = new Set<(orgId: string | null) => void>();
  private readonly notifyListeners = new Set<(orgId: string, message: Json) => void>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly logger: Pick<Console, "info" | "warn">;
  private reloading: Promise<void> | null = null;

  constructor(private readonly opts: FederationOptions) {
    this.logger = opts.logger ?? createLogger();
    this.egress = new UpstreamEgress(opts.allowedPrivateHosts);
  }

  /** Loads the rows, connects the org-owned upstreams, then keeps reloading and health-checking. */
  async start(): Promise<void> {
    await this.reload();
    const reload = setInterval(() => void this.reload().catch(() => {}), this.opts.reloadMs ?? 5000);
    const health = setInterval(() => {
      for (const connection of this.pool.values()) void connection.check();
    }, this.opts.healthIntervalMs ?? 5000);
    reload.unref?.();
    health.unref?.();
    this.timers.push(reload, health);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    const connections = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(connections.map((c) => c.close()));
  }

  /** Called with the org whose catalogue changed (null: possibly every org's). */
  onChange(listener: (orgId: string | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Upstream notifications outside any call (logs, resources/updated), for the org's sessions. */
  onNotify(listener: (orgId: string, message: Json) => void): () => void {
    this.notifyListeners.add(listener);
    return () => this.notifyListeners.delete(listener);
  }

  private changed(orgId: string | null): void {
    this.version++;
    for (const listener of this.changeListeners) listener(orgId);
  }

  /** Re-reads the rows now (concurrent calls share one run): new, changed and removed upstreams apply. */
  reload(): Promise<void> {
    this.reloading ??= this.runReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async runReload(): Promise<void> {
    const rows = await this.opts.list();
    const specs: UpstreamSpec[] = [];
    for (const row of rows) {
      if (!row.enabled) continue;
      try {
        specs.push(this.spec(row));
      } catch (error) {
        this.logger.warn(
          `[federation] upstream ${row.prefix}: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
    const before = new Map(this.specs.map((s) => [s.id, s.revision]));
    const after = new Map(specs.map((s) => [s.id, s.revision]));
    const affected = new Set<string | null>();
    for (const [id, revision] of before) {
      if (after.get(id) === revision) continue;
      affected.add(this.rows.get(id)?.organizationId ?? null);
      for (const [k, connection] of this.pool) {
        if (connection.spec.id === id) {
          this.pool.delete(k);
          void connection.close();
        }
      }
    }
    for (const spec of specs) if (before.get(spec.id) !== spec.revision) affected.add(spec.ownerOrgId);
    this.specs = specs;
    this.rows = new Map(rows.map((r) => [r.id, r]));
    // Org-owned upstreams connect at once (health shows up before first use); global ones per org on use.
    for (const spec of specs) if (spec.ownerOrgId) this.connection(spec, spec.ownerOrgId);
    if (affected.size > 0) this.changed(affected.has(null) || affected.size > 1 ? null : [...affected][0]!);
  }

  private spec(row: FederatedServer): UpstreamSpec {
    return {
      id: row.id,
      ownerOrgId: row.organizationId,
      registeredBy: row.registeredBy,
      name: row.name,
      prefix: row.prefix,
      transport: row.transport,
      url: row.url,
      command: row.command,
      args: row.args,
      env: row.env,
      headers: upstreamHeaders(this.opts.secrets, row),
      revision: row.updatedAt.toISOString(),
    };
  }

  private visible(orgId: string): UpstreamSpec[] {
    const seen = new Set<string>();
    const out: UpstreamSpec[] = [];
    // Global upstreams first: an org row cannot take a prefix the operator gave a global one.
    const ordered = [...this.specs].sort(
      (a, b) => Number(a.ownerOrgId !== null) - Number(b.ownerOrgId !== null),
    );
    for (const spec of ordered) {
      if (spec.ownerOrgId !== null && spec.ownerOrgId !== orgId) continue;
      if (seen.has(spec.prefix)) {
        this.logger.warn(
          `[federation] upstream ${spec.name} reuses prefix ${spec.prefix} in ${orgId}; ignored`,
        );
        continue;
      }
      seen.add(spec.prefix);
      out.push(spec);
    }
    return out;
  }

  private connection(spec: UpstreamSpec, orgId: string): UpstreamConnection {
    const k = key(spec.id, orgId);
    let connection = this.pool.get(k);
    if (!connection) {
      const created: UpstreamConnection = new UpstreamConnection(
        spec,
        orgId,
        {
          changed: () => {
            if (this.pool.get(k) === created) this.changed(orgId);
          },
          notify: (message) => {
            for (const listener of this.notifyListeners) listener(orgId, message);
          },
          logger: this.logger,
          admit: (upstream) =>
            upstream.registeredBy === "org" && upstream.transport !== "stdio" && upstream.url
              ? this.egress.problem(upstream.url)
              : Promise.resolve(null),
        },
        this.opts.connection,
      );
      connection = created;
      this.pool.set(k, connection);
      void connection.start();
    }
    return connection;
  }

  /** The org's federated catalogue; waits for first connection attempts (a down upstream adds nothing). */
  async catalog(orgId: string): Promise<FederatedCatalog> {
    const connections = this.visible(orgId).map((spec) => this.connection(spec, orgId));
    await Promise.all(connections.map((c) => (c.state === "connecting" ? c.start() : undefined)));
    const catalog: FederatedCatalog = {
      tools: new Map(),
      prompts: new Map(),
      resources: new Map(),
      templates: [],
      instructions: [],
    };
    for (const connection of connections) {
      if (connection.state !== "healthy") continue;
      const { prefix } = connection.spec;
      for (const tool of connection.tools) {
        const name = `${prefix}_${tool.name}`;
        catalog.tools.set(name, { connection, name: tool.name, tool: { ...tool, name } });
      }
      for (const prompt of connection.prompts) {
        const name = `${prefix}_${prompt.name}`;
        catalog.prompts.set(name, { connection, name: prompt.name, prompt: { ...prompt, name } });
      }
      for (const resource of connection.resources) {
        if (!catalog.resources.has(resource.uri))
          catalog.resources.set(resource.uri, { connection, resource });
      }
      for (const template of connection.templates) {
        catalog.templates.push({ connection, template, pattern: templatePattern(template.uriTemplate) });
      }
      if (connection.instructions) catalog.instructions.push(connection.instructions);
    }
    return catalog;
  }

  /** The org's upstreams with their connection health (the admin API's view). */
  health(orgId: string): FederatedHealth[] {
    return this.visibleRows(orgId).map((row) => federatedHealth(row, this.pool.get(key(row.id, orgId))));
  }

  private visibleRows(orgId: string): FederatedServer[] {
    return [...this.rows.values()]
      .filter((r) => r.organizationId === null || r.organizationId === orgId)
      .sort((a, b) => a.prefix.localeCompare(b.prefix));
  }

  /** Every pooled connection (operator diagnostics and tests: PIDs of stdio children). */
  connections(): readonly UpstreamConnection[] {
    return [...this.pool.values()];
  }

  /** A client of the org told the gateway its roots changed: tell the org's upstreams. */
  rootsChanged(orgId: string): void {
    for (const connection of this.pool.values()) if (connection.orgId === orgId) connection.rootsChanged();
  }
}
