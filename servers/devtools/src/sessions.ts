import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContextInfo, isStatelessSessionKey, type ServiceConfig } from "@omni/contracts";
import { ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import type { BrowserHost, CdpClient, CdpEvent } from "./browser.ts";
import type { DevtoolsOptions } from "./config.ts";
import type { HeapSummary } from "./heap.ts";
import {
  checkUrlResolved,
  DEFAULT_POLICY,
  decideHost,
  type Glob,
  HostResolver,
  parsePolicySettings,
  type UrlPolicy,
} from "./policy.ts";
import { PolicyProxy } from "./proxy.ts";
import { type EmulationCommand, Tab } from "./tab.ts";

/** What an emulation tool overrides; a later call for the same slot replaces the earlier one. */
type EmulationSlot = "viewport" | "touch" | "userAgent" | "geolocation" | "cpu" | "media" | "network";

export interface ResultEntry {
  tool: string;
  ok: boolean;
  at: string;
  summary: string;
}

/** One tool call, as the server's instrumentation tracks it: the contexts it uses, notes for its result. */
export interface CallTrack {
  readonly sessions: Set<Session>;
  readonly notes: string[];
}

/**
 * Who is asking: the parts of a tool or resource context the session manager needs, plus the `browser`
 * handle the call passed (tools get it from their `browser` argument, see server.ts) and its tracking.
 */
export interface Caller {
  sessionKey: string;
  org: { orgId: string };
  config: ServiceConfig;
  browser?: string | undefined;
  call?: CallTrack | undefined;
}
type Owner = Pick<Caller, "sessionKey" | "org" | "browser">;

/** A browser handle: `br_` and 144 random bits (base64url), unguessable. */
export const BROWSER_ID = /^br_[A-Za-z0-9_-]{24}$/;
const newBrowserId = () => `br_${randomBytes(18).toString("base64url")}`;

/**
 * One client's browser context: its own tabs, cookies, storage and URL policy. A 2025 MCP session has one
 * (made on first use); a stateless client gets one per `chrome_start_browser`, named by its `id`.
 */
export class Session {
  readonly tabs = new Map<string, Tab>();
  currentTabId: string | null = null;
  lastUsed = Date.now();
  /** Order of last use (strictly increasing, unlike the clock), for least-recently-used eviction. */
  useSeq = 0;
  /** Tool calls using this context right now (a busy context is never evicted or swept). */
  inflight = 0;
  creatingTabs = 0;
  /** The first tab being opened on demand (so concurrent calls share it). */
  opening: Promise<Tab> | null = null;
  policy: UrlPolicy = DEFAULT_POLICY;
  extraHeaders: Record<string, string> = {};
  /** Emulation in force in every tab of the session, replayed in each tab it opens later. */
  readonly emulation = new Map<EmulationSlot, EmulationCommand[]>();
  /** Tabs attached but still being set up (not yet in `tabs`); emulation changes reach them too. */
  readonly startingTabs = new Set<Tab>();
  readonly results: ResultEntry[] = [];
  readonly heapSnapshots = new Map<string, HeapSummary>();
  heapSeq = 0;
  tracing: { tabId: string; startedAt: number } | null = null;
  /** The context's SOCKS5 proxy (launched browsers): every connection of its pages passes the policy there. */
  proxy: PolicyProxy | null = null;
  private uploadDir: string | null = null;

  constructor(
    /** The browser handle (`br_…`) clients pass as `browser`. */
    readonly id: string,
    /** `orgId` + NUL + `sessionKey` of the client that owns it. */
    readonly owner: string,
    readonly sessionKey: string,
    readonly orgId: string,
    readonly contextId: string,
    readonly client: CdpClient,
    private readonly resolver: HostResolver,
    readonly createdAt = Date.now(),
  ) {}

  get stateless(): boolean {
    return isStatelessSessionKey(this.sessionKey);
  }

  /** Why this session may not load `url` (its policy, with the host name resolved), or null. */
  checkUrl(url: string): Promise<string | null> {
    return checkUrlResolved(this.policy, url, this.resolver);
  }

  get currentTab(): Tab | undefined {
    return this.currentTabId ? this.tabs.get(this.currentTabId) : undefined;
  }

  setBlocked(patterns: Glob[]): void {
    this.policy = { ...this.policy, blocked: patterns };
  }

  /** A private directory for files handed to `<input type=file>`. */
  uploads(): string {
    this.uploadDir ??= mkdtempSync(join(tmpdir(), "omni-upload-"));
    return this.uploadDir;
  }

  record(entry: ResultEntry): void {
    this.results.push(entry);
    if (this.results.length > 50) this.results.shift();
  }

  cleanup(): void {
    this.proxy?.close();
    this.proxy = null;
    for (const tab of this.tabs.values()) tab.markClosed();
    this.tabs.clear();
    if (this.uploadDir) rmSync(this.uploadDir, { recursive: true, force: true });
    this.uploadDir = null;
  }
}

interface PendingTab {
  resolve: (tab: Tab) => void;
  reject: (err: Error) => void;
}

/** A browser context before a session owns it: its proxy asks `holder.session` for the policy to apply. */
interface FreshContext {
  client: CdpClient;
  contextId: string;
  proxy: PolicyProxy | null;
  holder: { session?: Session };
}

/** A context made in advance (prewarm) with its blank tab, handed whole to the next new session. */
interface Spare extends FreshContext {
  generation: number;
  tab: Tab | null;
}

/** How long the server must be without calls before a taken spare context is made again. */
const REPLENISH_IDLE_MS = 300;

/**
 * Maps clients to browser contexts (one per 2025 MCP session, one per `chrome_start_browser` of a
 * stateless client, named by an unguessable `browser` id scoped to its organization and credential),
 * routes CDP events to tabs, enforces the URL policy on every request (Fetch interception) and the caps
 * (the least recently used idle context of an organization makes room for a new one), closes idle
 * contexts, and turns a browser crash into a clear error for the clients that lost their state.
 */
export class SessionManager {
  /** Every context, by browser id. */
  private readonly sessions = new Map<string, Session>();
  /** The context of each 2025 MCP session (by owner key), made on first use. */
  private readonly defaults = new Map<string, Session>();
  private readonly creating = new Map<string, Promise<Session>>();
  private readonly byContext = new Map<string, Session>();
  private readonly tabsByCdp = new Map<string, Tab>();
  /** Child targets (out-of-process iframes, workers) → the tab they belong to. */
  private readonly childOf = new Map<string, Tab>();
  private readonly pendingTabs = new Map<string, PendingTab>();
  private readonly sessionByTab = new WeakMap<Tab, Session>();
  /** 2025 sessions whose context a crash took, by owner key. */
  private readonly crashed = new Map<string, string>();
  /** Why recently closed contexts are gone (told only to their owner), by browser id. */
  private readonly ended = new Map<string, { owner: string; reason: string }>();
  private uses = 0;
  private attachedGeneration = -1;
  private attaching: Promise<CdpClient> | null = null;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closing = false;
  private readonly resolver: HostResolver;
  /** prewarm() was called: a spare context is kept ready (and made again after one is taken). */
  private prewarming = false;
  private spare: Promise<Spare | null> | null = null;
  /** Spare contexts by browser context id, from creation until a session takes them. */
  private readonly spares = new Map<string, Spare>();
  private replenishTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly host: BrowserHost,
    readonly options: DevtoolsOptions,
  ) {
    this.resolver = new HostResolver(options.resolve);
    host.onEvent((event) => this.route(event));
    host.onCrash((reason) => this.onCrash(reason));
    this.sweeper = setInterval(
      () => void this.sweepIdle(),
      Math.min(30_000, Math.max(50, options.idleMs / 2)),
    );
    this.sweeper.unref();
  }

  /** The caller's context, or undefined (reads never create one; a foreign `browser` id is undefined). */
  peek(caller: Owner): Session | undefined {
    if (caller.browser) return this.owned(caller, caller.browser);
    return this.defaults.get(keyOf(caller));
  }

  /** Contexts of one organization (for status). */
  countForOrg(orgId: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.orgId === orgId) n++;
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The context `id` if the caller owns it (same organization and client/credential), else undefined. */
  private owned(caller: Owner, id: string): Session | undefined {
    const session = this.sessions.get(id);
    return session && session.owner === keyOf(caller) ? session : undefined;
  }

  /** The error for a `browser` id the caller cannot use: the same for unknown and foreign ids. */
  private unknownBrowser(caller: Owner, id: string): ToolError {
    const ended = this.ended.get(id);
    if (ended && ended.owner === keyOf(caller)) {
      return new ToolError(
        `Browser ${id} was closed (${ended.reason}): call chrome_start_browser for a new one and pass its browser id`,
      );
    }
    return new ToolError(
      `No browser ${id} for this client: it expired or was closed, or it belongs to another client. Call chrome_start_browser and pass the browser id it returns.`,
    );
  }

  private policyOf(caller: Caller): Omit<UrlPolicy, "blocked"> {
    try {
      return parsePolicySettings(caller.config.settings);
    } catch (err) {
      throw new ToolError(
        `Invalid DevTools URL policy in the organization's settings: ${(err as Error).message}`,
      );
    }
  }

  /**
   * The caller's context: the one its `browser` id names, else (2025 sessions) its session's own, made
   * on first use. A stateless caller must pass `browser` (from chrome_start_browser).
   */
  async session(caller: Caller): Promise<Session> {
    const key = keyOf(caller);
    const policy = this.policyOf(caller);
    let session: Session | undefined;
    if (caller.browser) {
      session = this.owned(caller, caller.browser);
      if (!session) throw this.unknownBrowser(caller, caller.browser);
    } else if (isStatelessSessionKey(caller.sessionKey)) {
      throw new ToolError(
        "This client has no MCP session, so its browser is named by a handle: call chrome_start_browser and pass the browser id it returns as `browser` in every later call",
      );
    } else {
      const crash = this.crashed.get(key);
      if (crash) {
        this.crashed.delete(key);
        throw new ToolError(
          `Chromium crashed (${crash}) and was restarted: this session's tabs, cookies and storage are gone. Call the tool again to continue in a fresh browser context.`,
        );
      }
      session = this.defaults.get(key);
      if (!session) {
        let pending = this.creating.get(key);
        if (!pending) {
          pending = this.create(caller).finally(() => this.creating.delete(key));
          this.creating.set(key, pending);
        }
        session = await pending;
        this.defaults.set(key, session);
      }
    }
    this.use(session, caller);
    session.policy = { ...policy, blocked: session.policy.blocked };
    return session;
  }

  /**
   * `chrome_start_browser`: a stateless caller without `browser` gets a new context of its own each
   * time; everyone else gets their context as {@link session} finds it.
   */
  async start(caller: Caller): Promise<Session> {
    if (caller.browser || !isStatelessSessionKey(caller.sessionKey)) return this.session(caller);
    const policy = this.policyOf(caller);
    const session = await this.create(caller);
    this.use(session, caller);
    session.policy = { ...policy, blocked: session.policy.blocked };
    return session;
  }

  private use(session: Session, caller: Caller): void {
    session.lastUsed = Date.now();
    session.useSeq = ++this.uses;
    if (caller.call && !caller.call.sessions.has(session)) {
      caller.call.sessions.add(session);
      session.inflight++;
    }
  }

  /** A call that used `sessions` has finished. */
  release(call: CallTrack): void {
    for (const session of call.sessions) {
      session.inflight = Math.max(0, session.inflight - 1);
      session.lastUsed = Date.now();
      session.useSeq = ++this.uses;
    }
    if (this.prewarming && !this.spare) this.scheduleReplenish();
  }

  /**
   * Launch the browser now (not on first use) and keep one fresh context ready: its own policy proxy,
   * Fetch interception set up in a blank tab. The next new session takes it whole; another is made once
   * no call has run for {@link REPLENISH_IDLE_MS} (so making it does not slow the calls of a busy
   * client). A spare is never shared: each one is handed to exactly one session, and it has served no
   * page before. Resolves when the spare is ready: true, or false when it could not be made (the
   * browser did not start; the first call then reports why). Does nothing with `prewarm` off.
   */
  prewarm(): Promise<boolean> {
    if (!this.options.prewarm || this.closing) return Promise.resolve(false);
    this.prewarming = true;
    if (this.replenishTimer) clearTimeout(this.replenishTimer);
    this.replenishTimer = null;
    this.spare ??= this.makeSpare();
    return this.spare.then((spare) => spare !== null);
  }

  /** The spare context's browser context id and tab, when one is ready (for status and tests). */
  spareInfo(): { contextId: string; targetId: string } | null {
    for (const spare of this.spares.values()) {
      if (spare.tab && this.usable(spare))
        return { contextId: spare.contextId, targetId: spare.tab.targetId };
    }
    return null;
  }

  private scheduleReplenish(): void {
    if (this.closing) return;
    if (this.replenishTimer) clearTimeout(this.replenishTimer);
    this.replenishTimer = setTimeout(() => {
      this.replenishTimer = null;
      const busy = [...this.sessions.values()].some((s) => s.inflight > 0);
      // A busy server tries again when its calls end (release).
      if (!busy) void this.prewarm();
    }, REPLENISH_IDLE_MS);
    this.replenishTimer.unref();
  }

  private async makeSpare(): Promise<Spare | null> {
    let spare: Spare | undefined;
    try {
      const client = await this.client();
      if (this.closing) return null;
      const generation = this.host.generation;
      spare = { ...(await this.newContext(client)), generation, tab: null };
      this.spares.set(spare.contextId, spare);
      if (this.closing) throw new Error("the server is stopping");
      const made = spare;
      made.tab = await this.openTarget(client, made.contextId, (targetId) =>
        made.tab?.targetId === targetId ? made.tab : undefined,
      );
      if (!this.usable(spare)) throw new Error("the spare context went away");
      return spare;
    } catch {
      if (spare) await this.discardSpare(spare);
      return null;
    }
  }

  private usable(spare: Spare): boolean {
    return (
      this.spares.get(spare.contextId) === spare &&
      spare.generation === this.host.generation &&
      this.host.state === "running" &&
      !this.closing &&
      (spare.tab === null || (!spare.tab.closed && !spare.tab.crashed))
    );
  }

  /** The spare context for a new session (waiting for the one being made), or null when there is none. */
  private async takeSpare(): Promise<Spare | null> {
    const pending = this.spare;
    if (!pending) return null;
    this.spare = null;
    const spare = await pending;
    if (!spare) return null;
    if (!this.usable(spare) || !spare.tab) {
      await this.discardSpare(spare);
      return null;
    }
    this.spares.delete(spare.contextId);
    return spare;
  }

  private async discardSpare(spare: Spare): Promise<void> {
    if (this.spares.get(spare.contextId) !== spare) return;
    this.spares.delete(spare.contextId);
    spare.proxy?.close();
    if (spare.tab) this.forgetTab(spare.tab);
    const stoppingLaunched = this.closing && !this.options.chromeUrl;
    if (this.host.state === "running" && !stoppingLaunched && spare.generation === this.host.generation) {
      await spare.client
        .send("Target.disposeBrowserContext", { browserContextId: spare.contextId })
        .catch(() => undefined);
    }
  }

  /** The caller's current tab (a new one when the session has none). */
  async tab(caller: Caller): Promise<Tab> {
    const session = await this.session(caller);
    const current = session.currentTab;
    if (current) return current;
    session.opening ??= this.newTab(session).finally(() => {
      session.opening = null;
    });
    return session.opening;
  }

  /**
   * Apply emulation commands to every tab of the caller's session (a tab is opened when there is none)
   * and remember them under `slot` for tabs opened later; `keep: false` applies them (a reset) and
   * forgets the slot. They are applied to the current tab first: a failure there is the tool's error
   * and changes nothing else; other tabs that are going away are skipped.
   */
  async emulate(
    caller: Caller,
    slot: EmulationSlot,
    commands: EmulationCommand[],
    keep = true,
  ): Promise<Tab> {
    const current = await this.tab(caller);
    const session = await this.session(caller);
    await applyAll(current, commands);
    if (keep) session.emulation.set(slot, commands);
    else session.emulation.delete(slot);
    const others = [...session.tabs.values(), ...session.startingTabs].filter((tab) => tab !== current);
    await Promise.all(others.map((tab) => applyAll(tab, commands).catch(() => undefined)));
    return current;
  }

  private async client(): Promise<CdpClient> {
    const client = await this.host.connect().catch((err: unknown) => {
      throw new ToolError(`The browser is unavailable: ${(err as Error).message}`);
    });
    if (this.attachedGeneration === this.host.generation) return client;
    this.attaching ??= client
      .send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true })
      .then(() => {
        this.attachedGeneration = this.host.generation;
        return client;
      })
      .finally(() => {
        this.attaching = null;
      });
    return this.attaching;
  }

  /**
   * A new context for the caller. At the organization's cap, its least recently used idle context is
   * closed first (the call's result says so); when every one is busy, the call is refused.
   */
  private async create(caller: Caller): Promise<Session> {
    const max = this.options.maxContextsPerOrg;
    const orgId = caller.org.orgId;
    while (this.countForOrg(orgId) >= max) {
      const idle = [...this.sessions.values()]
        .filter((s) => s.orgId === orgId && s.inflight === 0)
        .sort((a, b) => a.useSeq - b.useSeq)[0];
      if (!idle) {
        throw new ToolError(
          `This organization already has ${max} browser contexts open, all busy (DEVTOOLS_MAX_CONTEXTS_PER_ORG): try again when a call finishes, or end one with chrome_stop_browser`,
        );
      }
      const idleFor = Math.round((Date.now() - idle.lastUsed) / 1000);
      const reason = `closed as this organization's least recently used idle browser context (unused for ${idleFor} s) to make room for a new one: at most ${max} per organization (DEVTOOLS_MAX_CONTEXTS_PER_ORG)`;
      await this.disposeSession(idle, reason);
      caller.call?.notes.push(`Browser ${idle.id} was ${reason}.`);
    }
    const spare = await this.takeSpare();
    const context = spare ?? (await this.newContext(await this.client()));
    const session = new Session(
      newBrowserId(),
      keyOf(caller),
      caller.sessionKey,
      orgId,
      context.contextId,
      context.client,
      this.resolver,
    );
    session.proxy = context.proxy;
    context.holder.session = session;
    this.sessions.set(session.id, session);
    this.byContext.set(context.contextId, session);
    if (spare?.tab) {
      this.sessionByTab.set(spare.tab, session);
      session.tabs.set(spare.tab.targetId, spare.tab);
      session.currentTabId = spare.tab.targetId;
    }
    if (spare) this.scheduleReplenish();
    return session;
  }

  /**
   * A new browser context. A launched browser's context sends every connection (HTTP, WebSocket) through
   * its own policy proxy, which applies the policy of the session `holder` names (the default policy
   * until one does); an attached browser may run elsewhere, so only Fetch interception applies there.
   */
  private async newContext(client: CdpClient): Promise<FreshContext> {
    const holder: { session?: Session } = {};
    const proxy = this.options.chromeUrl
      ? null
      : await PolicyProxy.start(
          (host) => decideHost(holder.session?.policy ?? DEFAULT_POLICY, host, this.resolver),
          (host, port, reason) =>
            holder.session?.currentTab?.noteBlocked(`${host}:${port} (connection)`, reason, undefined),
          this.options.dial,
        );
    const { browserContextId } = await client
      .send("Target.createBrowserContext", {
        disposeOnDetach: true,
        ...(proxy ? { proxyServer: `socks5://127.0.0.1:${proxy.port}`, proxyBypassList: "<-loopback>" } : {}),
      })
      .catch((err: unknown) => {
        proxy?.close();
        throw err;
      });
    return { client, contextId: browserContextId, proxy, holder };
  }

  /**
   * Open a tab in a context and wait until it is attached and set up (interception on); `settled` finds
   * it when that happened before createTarget answered.
   */
  private async openTarget(
    client: CdpClient,
    contextId: string,
    settled: (targetId: string) => Tab | undefined,
    url = "about:blank",
  ): Promise<Tab> {
    const { targetId } = await client.send("Target.createTarget", { url, browserContextId: contextId });
    const ready = settled(targetId);
    if (ready) return ready;
    if (this.closing) throw new ToolError("The server is stopping");
    return new Promise<Tab>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingTabs.delete(targetId);
        reject(new ToolError("The new tab did not start within 15 s"));
      }, 15_000);
      this.pendingTabs.set(targetId, {
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  async newTab(session: Session, url = "about:blank"): Promise<Tab> {
    const max = this.options.maxTabsPerContext;
    if (session.tabs.size + session.creatingTabs >= max) {
      throw new ToolError(
        `This session already has ${max} tabs open (DEVTOOLS_MAX_TABS_PER_CONTEXT): close one with chrome_close_tab`,
      );
    }
    session.creatingTabs++;
    try {
      const tab = await this.openTarget(
        session.client,
        session.contextId,
        (targetId) => session.tabs.get(targetId),
        url,
      );
      session.currentTabId = tab.targetId;
      return tab;
    } finally {
      session.creatingTabs--;
    }
  }

  async closeTab(session: Session, tab: Tab): Promise<void> {
    await session.client.send("Target.closeTarget", { targetId: tab.targetId }).catch(() => undefined);
    this.forgetTab(tab);
  }

  private forgetTab(tab: Tab): void {
    tab.markClosed();
    this.tabsByCdp.delete(tab.cdpSessionId);
    for (const [child, parent] of this.childOf) if (parent === tab) this.childOf.delete(child);
    for (const session of this.sessions.values()) {
      if (session.tabs.get(tab.targetId) !== tab) continue;
      session.tabs.delete(tab.targetId);
      if (session.currentTabId === tab.targetId)
        session.currentTabId = [...session.tabs.keys()].at(-1) ?? null;
    }
  }

  /** Close a session's browser context (its tabs, cookies and storage go with it). */
  /** `chrome_stop_browser`: close the caller's context (its tabs, cookies and storage go with it). */
  async dispose(caller: Owner): Promise<boolean> {
    const session = this.peek(caller);
    if (!session && caller.browser) throw this.unknownBrowser(caller, caller.browser);
    if (!session) return false;
    await this.disposeSession(session, "closed by chrome_stop_browser");
    return true;
  }

  /** A 2025 MCP session ended: close every context it owns. */
  async endClient(caller: Pick<Caller, "sessionKey" | "org">): Promise<number> {
    const key = keyOf(caller);
    this.crashed.delete(key);
    const owned = [...this.sessions.values()].filter((s) => s.owner === key);
    for (const session of owned) await this.disposeSession(session, "its MCP session ended");
    return owned.length;
  }

  /** An organization's contexts, for the admin API. */
  list(orgId: string): BrowserContextInfo[] {
    return [...this.sessions.values()]
      .filter((s) => s.orgId === orgId)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((s) => ({
        id: s.id,
        client: s.stateless ? "stateless" : "session",
        credentialId: s.stateless ? s.sessionKey.split(":").slice(2).join(":") || null : null,
        createdAt: new Date(s.createdAt).toISOString(),
        lastUsedAt: new Date(s.lastUsed).toISOString(),
        expiresAt: new Date(s.lastUsed + this.options.idleMs).toISOString(),
        tabs: s.tabs.size,
        busy: s.inflight > 0,
      }));
  }

  /** End one of an organization's contexts (admin API); false when it has none with this id. */
  async end(orgId: string, id: string): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session || session.orgId !== orgId) return false;
    await this.disposeSession(session, "ended by an administrator");
    return true;
  }

  private async disposeSession(session: Session, reason: string): Promise<void> {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    if (this.defaults.get(session.owner) === session) this.defaults.delete(session.owner);
    this.byContext.delete(session.contextId);
    this.remember(session, reason);
    for (const tab of session.tabs.values()) {
      this.tabsByCdp.delete(tab.cdpSessionId);
      for (const [child, parent] of this.childOf) if (parent === tab) this.childOf.delete(child);
    }
    session.cleanup();
    // A launched browser that is being stopped takes its contexts with it: no need to wait for each.
    const stoppingLaunched = this.closing && !this.options.chromeUrl;
    if (this.host.state === "running" && !stoppingLaunched) {
      await session.client
        .send("Target.disposeBrowserContext", { browserContextId: session.contextId })
        .catch(() => undefined);
    }
  }

  private remember(session: Session, reason: string): void {
    this.ended.set(session.id, { owner: session.owner, reason });
    if (this.ended.size > 1000) this.ended.delete(this.ended.keys().next().value ?? "");
  }

  async sweepIdle(now = Date.now()): Promise<number> {
    let closed = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.inflight === 0 && now - session.lastUsed >= this.options.idleMs) {
        await this.disposeSession(session, `unused for ${Math.round(this.options.idleMs / 1000)} s`);
        closed++;
      }
    }
    return closed;
  }

  private onCrash(reason: string): void {
    for (const session of this.sessions.values()) {
      if (!session.stateless) this.crashed.set(session.owner, reason);
      this.remember(session, `Chromium crashed: ${reason}`);
      session.cleanup();
    }
    this.sessions.clear();
    this.defaults.clear();
    this.byContext.clear();
    this.tabsByCdp.clear();
    this.childOf.clear();
    for (const spare of this.spares.values()) spare.proxy?.close();
    this.spares.clear();
    this.spare = null;
    this.rejectPendingTabs(`Chromium crashed: ${reason}`);
    if (this.closing) return;
    // The restarted browser gets a spare context again when prewarming.
    if (this.prewarming) void this.prewarm();
    else void this.host.connect().catch(() => undefined);
  }

  private rejectPendingTabs(reason: string): void {
    for (const pending of this.pendingTabs.values()) pending.reject(new ToolError(reason));
    this.pendingTabs.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    if (this.replenishTimer) clearTimeout(this.replenishTimer);
    this.replenishTimer = null;
    for (const session of [...this.sessions.values()])
      await this.disposeSession(session, "the server stopped");
    for (const spare of [...this.spares.values()]) await this.discardSpare(spare);
    // A tab being opened (a spare's) must not wait for its 15 s timeout once the browser is gone.
    this.rejectPendingTabs("the server stopped");
    await this.host.stop();
  }

  private route(event: CdpEvent): void {
    if (event.method === "Target.attachedToTarget") {
      void this.onAttached(event.params as unknown as Protocol.Target.AttachedToTargetEvent, event.sessionId);
      return;
    }
    if (event.method === "Target.detachedFromTarget") {
      const { sessionId } = event.params as unknown as Protocol.Target.DetachedFromTargetEvent;
      const tab = this.tabsByCdp.get(sessionId);
      if (tab && !event.sessionId) this.forgetTab(tab);
      this.childOf.delete(sessionId);
      return;
    }
    if (!event.sessionId) return;
    if (event.method === "Fetch.requestPaused") {
      const tab = this.tabsByCdp.get(event.sessionId) ?? this.childOf.get(event.sessionId);
      this.onRequestPaused(
        event.params as unknown as Protocol.Fetch.RequestPausedEvent,
        event.sessionId,
        tab,
      );
      return;
    }
    this.tabsByCdp.get(event.sessionId)?.handle(event);
  }

  private onRequestPaused(
    params: Protocol.Fetch.RequestPausedEvent,
    cdpSession: string,
    tab: Tab | undefined,
  ) {
    const session = tab ? this.sessionOf(tab) : undefined;
    const client = session?.client;
    if (!client || !session || !tab) {
      // A request of a target no session owns (it is going away): it must not leave unchecked.
      void this.host
        .connect()
        .then((c) =>
          c.send(
            "Fetch.failRequest",
            { requestId: params.requestId, errorReason: "AccessDenied" },
            cdpSession,
          ),
        )
        .catch(() => undefined);
      return;
    }
    void session
      .checkUrl(params.request.url)
      .then((reason) => this.decide(session, tab, params, cdpSession, reason));
  }

  private decide(
    session: Session,
    tab: Tab,
    params: Protocol.Fetch.RequestPausedEvent,
    cdpSession: string,
    reason: string | null,
  ): void {
    const client = session.client;
    if (reason) {
      tab.noteBlocked(params.request.url, reason, params.networkId);
      client
        .send(
          "Fetch.failRequest",
          { requestId: params.requestId, errorReason: "BlockedByClient" },
          cdpSession,
        )
        .catch(() => undefined);
    } else {
      client
        .send("Fetch.continueRequest", { requestId: params.requestId }, cdpSession)
        .catch(() => undefined);
    }
  }

  private sessionOf(tab: Tab): Session | undefined {
    const session = this.sessionByTab.get(tab);
    return session && this.sessions.get(session.id) === session ? session : undefined;
  }

  private async onAttached(
    params: Protocol.Target.AttachedToTargetEvent,
    parentSession?: string,
  ): Promise<void> {
    const client = this.host.state === "running" ? await this.host.connect() : null;
    if (!client) return;
    const { sessionId, targetInfo } = params;
    // A browser-level session this server opened itself (the Lighthouse transport) is not a tab.
    if (targetInfo.type === "browser") return;
    const resume = () =>
      client.send("Runtime.runIfWaitingForDebugger", undefined, sessionId).catch(() => undefined);
    if (parentSession) {
      const tab = this.tabsByCdp.get(parentSession) ?? this.childOf.get(parentSession);
      if (!tab) return void resume();
      this.childOf.set(sessionId, tab);
      await Promise.all([
        client
          .send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] }, sessionId)
          .catch(() => undefined),
        client
          .send(
            "Target.setAutoAttach",
            { autoAttach: true, waitForDebuggerOnStart: true, flatten: true },
            sessionId,
          )
          .catch(() => undefined),
      ]);
      await resume();
      return;
    }
    const contextId = targetInfo.browserContextId;
    const session = contextId ? this.byContext.get(contextId) : undefined;
    const spare = contextId && !session ? this.spares.get(contextId) : undefined;
    if (spare && targetInfo.type === "page" && !spare.tab) return this.onSpareTab(spare, params, client);
    if (!session || targetInfo.type !== "page") {
      await resume();
      if (!session) await client.send("Target.detachFromTarget", { sessionId }).catch(() => undefined);
      return;
    }
    if (session.creatingTabs === 0 && session.tabs.size >= this.options.maxTabsPerContext) {
      // A popup beyond the tab cap: let it start (its opener waits for it), then close it.
      await resume();
      await client.send("Target.closeTarget", { targetId: targetInfo.targetId }).catch(() => undefined);
      return;
    }
    const tab = new Tab(targetInfo.targetId, sessionId, client);
    tab.url = targetInfo.url;
    tab.title = targetInfo.title;
    this.tabsByCdp.set(sessionId, tab);
    this.sessionByTab.set(tab, session);
    // Setup sends its commands at once, so an emulation change made meanwhile lands after them.
    session.startingTabs.add(tab);
    try {
      await tab.setup(session.extraHeaders, [...session.emulation.values()].flat());
    } catch {
      // The target went away while starting; detachedFromTarget cleans up.
    } finally {
      session.startingTabs.delete(tab);
    }
    if (!tab.closed && this.sessions.get(session.id) === session) {
      session.tabs.set(tab.targetId, tab);
      session.currentTabId ??= tab.targetId;
    }
    this.settle(tab);
  }

  /** The blank tab of a spare context: set up like any tab (no session yet: no headers, no emulation). */
  private async onSpareTab(
    spare: Spare,
    { sessionId, targetInfo }: Protocol.Target.AttachedToTargetEvent,
    client: CdpClient,
  ): Promise<void> {
    const tab = new Tab(targetInfo.targetId, sessionId, client);
    tab.url = targetInfo.url;
    tab.title = targetInfo.title;
    this.tabsByCdp.set(sessionId, tab);
    // Until a session takes the context, a request of this tab has no policy to pass: it is refused.
    try {
      await tab.setup({});
    } catch {
      // The target went away while starting; the spare is not usable then.
    }
    if (!tab.closed && this.spares.get(spare.contextId) === spare) spare.tab = tab;
    this.settle(tab);
  }

  private settle(tab: Tab): void {
    const pending = this.pendingTabs.get(tab.targetId);
    this.pendingTabs.delete(tab.targetId);
    pending?.resolve(tab);
  }
}

async function applyAll(tab: Tab, commands: EmulationCommand[]): Promise<void> {
  for (const command of commands) await tab.apply(command);
}

function keyOf(caller: Pick<Caller, "sessionKey" | "org">): string {
  return `${caller.org.orgId}\u0000${caller.sessionKey}`;
}
