import type { InstanceConfig, Registry } from "./index.ts";

/** One `server_instances` row as the gateway routes to it. */
export interface InstanceRow {
  server: string;
  url: string;
  draining: boolean;
}

export interface InstanceFollowerOptions {
  registry: Pick<Registry, "add" | "remove" | "setDraining" | "check">;
  /** The current rows (`repos.servers.listRoutes()`). */
  load: () => Promise<InstanceRow[]>;
  /** Instances from `SERVERS`: never removed or drained by the table. */
  fixed?: InstanceConfig[];
  /** How often the table is read. Default 2000 ms (`SERVER_INSTANCES_POLL_MS`). */
  intervalMs?: number;
  /** How long a removed instance's calls in flight may run before it is dropped. Default 30 s. */
  drainMs?: number;
  logger?: Pick<Console, "warn">;
}

const key = (i: InstanceConfig) => `${i.server}\u0000${i.url.replace(/\/+$/, "")}`;

/**
 * Follows the `server_instances` table live: a new row is added to the registry and discovered (its
 * catalogue entry upserted), a row marked `draining` gets no new calls, a deleted row is drained (calls
 * in flight finish) and dropped, all without a restart.
 *
 * Why polling: the table is tiny and read by an indexed join once per interval per replica; it works the
 * same on Postgres and PGlite, with or without Redis, needs no extra connection (LISTEN holds one per
 * replica and misses changes while it reconnects) and nothing from whoever writes the rows (the CLI, the
 * admin API, SQL by hand). A change shows within one interval, which is what an operator adding or
 * draining an instance needs. A failed read keeps the current set (a database blip drops nothing).
 */
export class InstanceFollower {
  private readonly managed = new Map<string, InstanceConfig>();
  private readonly fixed: Set<string>;
  private readonly removals = new Set<Promise<unknown>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private syncing: Promise<void> | null = null;

  constructor(private readonly opts: InstanceFollowerOptions) {
    this.fixed = new Set((opts.fixed ?? []).map(key));
  }

  /** Reads the table once (awaited: its instances are discovered before this resolves), then polls. */
  async start(): Promise<void> {
    await this.sync();
    if (!this.timer) {
      this.timer = setInterval(() => void this.sync(), this.opts.intervalMs ?? 2000);
      this.timer.unref?.();
    }
  }

  /** Stops polling (removals under way go on until their calls finish or the registry stops). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.syncing;
  }

  /** Resolves when every removal started so far has dropped its instance (or found it back in service). */
  async settled(): Promise<void> {
    await Promise.all(this.removals);
  }

  /** Whether an instance comes from `SERVERS` (the table neither drains nor removes it). */
  isFixed(config: InstanceConfig): boolean {
    return this.fixed.has(key(config));
  }

  /** Applies the table's current rows now (concurrent calls share one run). */
  sync(): Promise<void> {
    this.syncing ??= this.apply().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async apply(): Promise<void> {
    let rows: InstanceRow[];
    try {
      rows = await this.opts.load();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.opts.logger?.warn(
        `[registry] reading server_instances failed (keeping the current set): ${message}`,
      );
      return;
    }
    const wanted = new Map<string, InstanceRow>();
    for (const row of rows) {
      const config = { server: row.server, url: row.url.replace(/\/+$/, "") };
      if (!this.fixed.has(key(config))) wanted.set(key(config), { ...row, url: config.url });
    }
    let added = false;
    for (const [k, row] of wanted) {
      const config = { server: row.server, url: row.url };
      if (!this.managed.has(k)) {
        this.opts.registry.add(config);
        this.managed.set(k, config);
        added = true;
      }
      this.opts.registry.setDraining(config, row.draining);
    }
    for (const [k, config] of this.managed) {
      if (wanted.has(k)) continue;
      this.managed.delete(k);
      const removal = this.opts.registry.remove(config, this.opts.drainMs).finally(() => {
        this.removals.delete(removal);
      });
      this.removals.add(removal);
    }
    // Discover the new instances now (the health interval would, later).
    if (added) await this.opts.registry.check();
  }
}
