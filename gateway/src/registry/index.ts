import type {
  PromptTemplate,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  ServerCapabilities,
  ToolDescriptor,
} from "@omni/contracts";
import { createLogger } from "../security/log.ts";
import { isTransportFailure, type UpstreamClient, type UpstreamClientFactory } from "./upstream.ts";

export {
  callFailureReason,
  createClientFactory,
  defaultClientFactory,
  type UpstreamClient,
  type UpstreamClientFactory,
} from "./upstream.ts";

/** One configured instance of a domain server (from `SERVERS` or a `server_instances` row). */
export interface InstanceConfig {
  server: string;
  url: string;
}

/** Parses `SERVERS` (`linear=http://127.0.0.1:3001,perplexity=http://...`); repeat a name for replicas. */
export function parseServersEnv(value: string | undefined): InstanceConfig[] {
  if (!value?.trim()) return [];
  return value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf("=");
      const server = part.slice(0, eq).trim();
      const url = part.slice(eq + 1).trim();
      if (eq <= 0 || !/^[a-z][a-z0-9_-]*$/.test(server) || !URL.canParse(url)) {
        throw new Error(`SERVERS: "${part}" is not name=url (e.g. linear=http://127.0.0.1:3001)`);
      }
      return { server, url: url.replace(/\/+$/, "") };
    });
}

export interface Instance {
  readonly server: string;
  readonly url: string;
  readonly client: UpstreamClient;
  healthy: boolean;
  /** Taken out of service: no new calls are routed to it; the ones in flight finish (see `remove`). */
  draining: boolean;
  /** Requests currently in flight on this instance (least-outstanding routing). */
  outstanding: number;
  lastError: string | null;
  lastCheckedAt: number | null;
  /** From the last health report: a restart (uptime went down, or a new version) triggers re-discovery. */
  lastUptimeMs: number;
  lastVersion: string | null;
}

export interface ToolRoute {
  server: string;
  tool: ToolDescriptor;
  /** readOnlyHint && idempotentHint: safe to retry once on another instance. */
  retryable: boolean;
  /** The tool gathers input in synchronous rounds before it becomes a task (`ToolDefinition.gather`). */
  gathersInput: boolean;
}

export interface TemplateRoute {
  server: string;
  template: ResourceTemplateDescriptor;
  pattern: RegExp;
}

/** Immutable view of everything the servers offer; replaced (never mutated) when it changes. */
export interface Capabilities {
  /** Bumped on every change: per-org views cache against it. */
  version: number;
  servers: Map<string, ServerCapabilities>;
  tools: Map<string, ToolRoute>;
  codePrompts: Map<string, PromptTemplate[]>;
  resources: Map<string, { server: string; resource: ResourceDescriptor }>;
  templates: TemplateRoute[];
}

export interface RegistryOptions {
  instances: InstanceConfig[];
  clientFactory: UpstreamClientFactory;
  /** Health-check period. Default 5000 ms. */
  healthIntervalMs?: number;
  /**
   * Called with a server's capabilities when an instance first reports them or they change (the
   * gateway upserts the server's catalogue entry: see `catalogueSync`). Awaited before the new
   * capabilities are served; a failure is logged and retried on the next change or restart.
   */
  onDiscovered?: (caps: ServerCapabilities) => Promise<void> | void;
  logger?: Pick<Console, "info" | "warn">;
}

export interface ServerHealth {
  name: string;
  instances: number;
  /** Healthy instances in service (draining ones not counted). */
  healthy: number;
  /** Instances being taken out of service (only present when there are some). */
  draining?: number;
}

/** How long `remove` waits for an instance's calls in flight before it drops the instance anyway. */
const DEFAULT_DRAIN_MS = 30_000;

/** RFC 6570 level-1 template → a regex that matches URIs of it (each `{var}` one path segment or more). */
export function templatePattern(uriTemplate: string): RegExp {
  const source = uriTemplate
    .split(/(\{[^}]+\})/)
    .map((part) =>
      part.startsWith("{") && part.endsWith("}") ? "[^/?#]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${source}$`);
}

/**
 * The capability registry: discovers each instance's capabilities, health-checks every instance on an
 * interval, and routes each call to a healthy instance with the fewest outstanding requests.
 */
export class Registry {
  private readonly instances: Instance[] = [];
  private readonly listeners = new Set<(caps: Capabilities) => void>();
  private readonly opts: Required<Omit<RegistryOptions, "instances" | "clientFactory" | "onDiscovered">> & {
    clientFactory: UpstreamClientFactory;
    onDiscovered?: RegistryOptions["onDiscovered"];
  };
  private readonly serverCaps = new Map<string, ServerCapabilities>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private checking: Promise<void> | null = null;
  private caps: Capabilities = {
    version: 0,
    servers: new Map(),
    tools: new Map(),
    codePrompts: new Map(),
    resources: new Map(),
    templates: [],
  };

  constructor(options: RegistryOptions) {
    this.opts = {
      clientFactory: options.clientFactory,
      healthIntervalMs: options.healthIntervalMs ?? 5000,
      logger: options.logger ?? createLogger(),
      ...(options.onDiscovered ? { onDiscovered: options.onDiscovered } : {}),
    };
    for (const config of options.instances) this.add(config);
  }

  /** Adds an instance (ignored when the same server+url is known). Call `check()` to discover it. */
  add(config: InstanceConfig): void {
    if (this.instances.some((i) => i.server === config.server && i.url === config.url)) return;
    this.instances.push({
      server: config.server,
      url: config.url,
      client: this.opts.clientFactory(config.url),
      healthy: false,
      draining: false,
      outstanding: 0,
      lastError: null,
      lastCheckedAt: null,
      lastUptimeMs: 0,
      lastVersion: null,
    });
  }

  /** Discovers every instance once, then keeps health-checking on the interval. */
  async start(): Promise<void> {
    await this.check();
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.opts.healthIntervalMs);
      this.timer.unref?.();
    }
  }

  /** Stops health checks and closes the instances' pooled connections. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const instance of this.instances) instance.client.close();
  }

  get capabilities(): Capabilities {
    return this.caps;
  }

  /** Called with the new capabilities whenever the set of tools/prompts/resources changes. */
  onChange(listener: (caps: Capabilities) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every instance with its health (the admin API's servers view). */
  list(): readonly Instance[] {
    return this.instances;
  }

  health(): ServerHealth[] {
    const byServer = new Map<string, ServerHealth>();
    for (const instance of this.instances) {
      const entry = byServer.get(instance.server) ?? { name: instance.server, instances: 0, healthy: 0 };
      entry.instances++;
      if (instance.draining) entry.draining = (entry.draining ?? 0) + 1;
      else if (instance.healthy) entry.healthy++;
      byServer.set(instance.server, entry);
    }
    return [...byServer.values()];
  }

  /**
   * Whether every configured server has at least one healthy instance in service. A server whose every
   * instance is draining is being taken out on purpose and does not make the gateway unready.
   */
  ready(): boolean {
    return this.health().every((s) => s.healthy > 0 || s.draining === s.instances);
  }

  /** Every healthy instance of `server`, draining ones too (e.g. to tell each that a session ended). */
  healthyInstances(server: string): Instance[] {
    return this.instances.filter((i) => i.server === server && i.healthy);
  }

  /** Takes an instance out of service (`true`: no new calls) or puts it back; false when unknown. */
  setDraining(config: InstanceConfig, draining: boolean): boolean {
    const instance = this.find(config);
    if (!instance) return false;
    if (instance.draining !== draining) {
      instance.draining = draining;
      this.opts.logger.info(
        `[registry] ${instance.server} at ${instance.url} ${draining ? "is draining" : "is back in service"}`,
      );
    }
    return true;
  }

  /**
   * Drops an instance without a restart: it gets no new calls at once, the calls in flight on it finish
   * (up to `graceMs`, default 30 s), then its connections close. When it was the server's last instance,
   * the server's tools, prompts and resources leave the capabilities (clients get list_changed).
   */
  async remove(config: InstanceConfig, graceMs = DEFAULT_DRAIN_MS): Promise<boolean> {
    const instance = this.find(config);
    if (!instance) return false;
    instance.draining = true;
    const deadline = Date.now() + graceMs;
    while (instance.outstanding > 0 && instance.draining && Date.now() < deadline) await Bun.sleep(20);
    // Put back in service meanwhile (`setDraining(false)`, e.g. its row came back): it stays.
    if (!instance.draining) return false;
    const index = this.instances.indexOf(instance);
    if (index === -1) return false; // removed meanwhile
    this.instances.splice(index, 1);
    instance.client.close();
    this.opts.logger.info(
      `[registry] ${instance.server} at ${instance.url} removed${instance.outstanding > 0 ? ` with ${instance.outstanding} calls still running` : ""}`,
    );
    if (
      !this.instances.some((i) => i.server === instance.server) &&
      this.serverCaps.delete(instance.server)
    ) {
      this.rebuild();
    }
    return true;
  }

  private find(config: InstanceConfig): Instance | undefined {
    return this.instances.find((i) => i.server === config.server && i.url === config.url);
  }

  /** A healthy instance of `server` in service with the fewest outstanding requests, skipping `exclude`. */
  pick(server: string, exclude?: Instance): Instance | null {
    let best: Instance | null = null;
    for (const instance of this.instances) {
      if (instance.server !== server || !instance.healthy || instance.draining || instance === exclude)
        continue;
      if (!best || instance.outstanding < best.outstanding) best = instance;
    }
    return best;
  }

  /**
   * Reports a failed call. Only a transport failure (see `isTransportFailure`) marks the instance down
   * (the health checks bring it back); anything else is that call's own error, and the instance stays
   * in service for everyone else. Returns whether it was a transport failure.
   */
  markFailed(instance: Instance, error: unknown): boolean {
    if (!isTransportFailure(error)) return false;
    if (!instance.healthy) return true;
    instance.healthy = false;
    instance.lastError = error instanceof Error ? error.message : String(error);
    this.opts.logger.warn(`[registry] ${instance.server} at ${instance.url} failed: ${instance.lastError}`);
    return true;
  }

  /** Health-checks every instance now (concurrent calls share one run). */
  check(): Promise<void> {
    if (!this.checking) {
      this.checking = this.runChecks().finally(() => {
        this.checking = null;
      });
    }
    return this.checking;
  }

  private async runChecks(): Promise<void> {
    let changed = false;
    await Promise.all(
      this.instances.map(async (instance) => {
        const wasHealthy = instance.healthy;
        try {
          const report = await instance.client.health();
          instance.lastCheckedAt = Date.now();
          if (report.status === "down") throw new Error(`reports status down`);
          const restarted =
            report.uptimeMs < instance.lastUptimeMs || report.version !== instance.lastVersion;
          instance.lastUptimeMs = report.uptimeMs;
          instance.lastVersion = report.version;
          if (!wasHealthy || restarted || !this.serverCaps.has(instance.server)) {
            const caps = await instance.client.capabilities();
            if (this.setServerCaps(instance.server, caps)) {
              changed = true;
              await this.discovered(caps);
            }
          }
          instance.healthy = true;
          instance.lastError = null;
          // Tool calls go over the instance's call socket once it is open (until then, over HTTP).
          void instance.client.callSocketReady();
          if (!wasHealthy)
            this.opts.logger.info(`[registry] ${instance.server} at ${instance.url} is healthy`);
        } catch (error) {
          instance.lastCheckedAt = Date.now();
          instance.lastError = error instanceof Error ? error.message : String(error);
          if (wasHealthy) {
            this.opts.logger.warn(
              `[registry] ${instance.server} at ${instance.url} is down: ${instance.lastError}`,
            );
          }
          instance.healthy = false;
        }
      }),
    );
    if (changed) this.rebuild();
  }

  private async discovered(caps: ServerCapabilities): Promise<void> {
    try {
      await this.opts.onDiscovered?.(caps);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.opts.logger.warn(
        `[registry] registering ${caps.server.name}'s catalogue entry failed: ${message}`,
      );
    }
  }

  private setServerCaps(server: string, caps: ServerCapabilities): boolean {
    const previous = this.serverCaps.get(server);
    if (previous && JSON.stringify(previous) === JSON.stringify(caps)) return false;
    this.serverCaps.set(server, caps);
    return true;
  }

  private rebuild(): void {
    const tools = new Map<string, ToolRoute>();
    const codePrompts = new Map<string, PromptTemplate[]>();
    const resources = new Map<string, { server: string; resource: ResourceDescriptor }>();
    const templates: TemplateRoute[] = [];
    for (const [server, caps] of [...this.serverCaps].sort(([a], [b]) => a.localeCompare(b))) {
      for (const tool of caps.tools) {
        if (tools.has(tool.name)) {
          this.opts.logger.warn(
            `[registry] tool ${tool.name} of ${server} shadows another server's; ignored`,
          );
          continue;
        }
        const retryable = tool.annotations?.readOnlyHint === true && tool.annotations.idempotentHint === true;
        const gathersInput = caps.gathersInput?.includes(tool.name) === true;
        tools.set(tool.name, { server, tool, retryable, gathersInput });
      }
      codePrompts.set(server, caps.prompts);
      for (const resource of caps.resources) resources.set(resource.uri, { server, resource });
      for (const template of caps.resourceTemplates) {
        templates.push({ server, template, pattern: templatePattern(template.uriTemplate) });
      }
    }
    this.caps = {
      version: this.caps.version + 1,
      servers: new Map(this.serverCaps),
      tools,
      codePrompts,
      resources,
      templates,
    };
    for (const listener of this.listeners) listener(this.caps);
  }
}
