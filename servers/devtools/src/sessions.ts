import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceConfig } from "@omni/contracts";
import { ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import type { BrowserHost, CdpClient, CdpEvent } from "./browser.ts";
import type { DevtoolsOptions } from "./config.ts";
import type { HeapSummary } from "./heap.ts";
import {
  checkUrlResolved,
  DEFAULT_POLICY,
  type Glob,
  HostResolver,
  parsePolicySettings,
  type UrlPolicy,
} from "./policy.ts";
import { type EmulationCommand, Tab } from "./tab.ts";

/** What an emulation tool overrides; a later call for the same slot replaces the earlier one. */
type EmulationSlot = "viewport" | "touch" | "userAgent" | "geolocation" | "cpu" | "media" | "network";

export interface ResultEntry {
  tool: string;
  ok: boolean;
  at: string;
  summary: string;
}

/** Who is asking: the parts of a tool or resource context the session manager needs. */
export interface Caller {
  sessionKey: string;
  org: { orgId: string };
  config: ServiceConfig;
}

/** One MCP session's browser context: its own tabs, cookies, storage and URL policy. */
export class Session {
  readonly tabs = new Map<string, Tab>();
  currentTabId: string | null = null;
  lastUsed = Date.now();
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
  private uploadDir: string | null = null;

  constructor(
    readonly key: string,
    readonly sessionKey: string,
    readonly orgId: string,
    readonly contextId: string,
    readonly client: CdpClient,
    private readonly resolver: HostResolver,
    readonly createdAt = Date.now(),
  ) {}

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

/**
 * Maps MCP sessions to browser contexts, routes CDP events to tabs, enforces the URL policy on every
 * request (Fetch interception) and the caps, closes idle contexts, and turns a browser crash into a
 * clear error for the sessions that lost their state.
 */
export class SessionManager {
  private readonly sessions = new Map<string, Session>();
  private readonly creating = new Map<string, Promise<Session>>();
  private readonly byContext = new Map<string, Session>();
  private readonly tabsByCdp = new Map<string, Tab>();
  /** Child targets (out-of-process iframes, workers) → the tab they belong to. */
  private readonly childOf = new Map<string, Tab>();
  private readonly pendingTabs = new Map<string, PendingTab>();
  private readonly sessionByTab = new WeakMap<Tab, Session>();
  private readonly crashed = new Map<string, string>();
  private attachedGeneration = -1;
  private attaching: Promise<CdpClient> | null = null;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closing = false;
  private readonly resolver: HostResolver;

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

  /** The session of this caller, or undefined (reads never create one). */
  peek(caller: Pick<Caller, "sessionKey" | "org">): Session | undefined {
    return this.sessions.get(keyOf(caller));
  }

  /** Sessions of one organization (for status). */
  countForOrg(orgId: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.orgId === orgId) n++;
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The caller's session, created (with a fresh browser context) on first use. */
  async session(caller: Caller): Promise<Session> {
    const key = keyOf(caller);
    const crash = this.crashed.get(key);
    if (crash) {
      this.crashed.delete(key);
      throw new ToolError(
        `Chromium crashed (${crash}) and was restarted: this session's tabs, cookies and storage are gone. Call the tool again to continue in a fresh browser context.`,
      );
    }
    let policy: Omit<UrlPolicy, "blocked">;
    try {
      policy = parsePolicySettings(caller.config.settings);
    } catch (err) {
      throw new ToolError(
        `Invalid DevTools URL policy in the organization's settings: ${(err as Error).message}`,
      );
    }
    let session = this.sessions.get(key);
    if (!session) {
      let pending = this.creating.get(key);
      if (!pending) {
        pending = this.create(key, caller).finally(() => this.creating.delete(key));
        this.creating.set(key, pending);
      }
      session = await pending;
    }
    session.lastUsed = Date.now();
    session.policy = { ...policy, blocked: session.policy.blocked };
    return session;
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

  private async create(key: string, caller: Caller): Promise<Session> {
    const max = this.options.maxContextsPerOrg;
    if (this.countForOrg(caller.org.orgId) >= max) {
      throw new ToolError(
        `This organization already has ${max} browser sessions open (DEVTOOLS_MAX_CONTEXTS_PER_ORG): end another MCP session or call chrome_stop_browser in one`,
      );
    }
    const client = await this.client();
    const { browserContextId } = await client.send("Target.createBrowserContext", { disposeOnDetach: true });
    const session = new Session(
      key,
      caller.sessionKey,
      caller.org.orgId,
      browserContextId,
      client,
      this.resolver,
    );
    this.sessions.set(key, session);
    this.byContext.set(browserContextId, session);
    return session;
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
      const { targetId } = await session.client.send("Target.createTarget", {
        url,
        browserContextId: session.contextId,
      });
      const tab =
        session.tabs.get(targetId) ??
        (await new Promise<Tab>((resolve, reject) => {
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
        }));
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
  async dispose(caller: Pick<Caller, "sessionKey" | "org">): Promise<boolean> {
    const session = this.sessions.get(keyOf(caller));
    if (!session) return false;
    await this.disposeSession(session);
    return true;
  }

  private async disposeSession(session: Session): Promise<void> {
    this.sessions.delete(session.key);
    this.byContext.delete(session.contextId);
    for (const tab of session.tabs.values()) {
      this.tabsByCdp.delete(tab.cdpSessionId);
      for (const [child, parent] of this.childOf) if (parent === tab) this.childOf.delete(child);
    }
    session.cleanup();
    if (this.host.state === "running") {
      await session.client
        .send("Target.disposeBrowserContext", { browserContextId: session.contextId })
        .catch(() => undefined);
    }
  }

  async sweepIdle(now = Date.now()): Promise<number> {
    let closed = 0;
    for (const session of [...this.sessions.values()]) {
      if (now - session.lastUsed >= this.options.idleMs) {
        await this.disposeSession(session);
        closed++;
      }
    }
    return closed;
  }

  private onCrash(reason: string): void {
    for (const session of this.sessions.values()) {
      this.crashed.set(session.key, reason);
      session.cleanup();
    }
    this.sessions.clear();
    this.byContext.clear();
    this.tabsByCdp.clear();
    this.childOf.clear();
    for (const pending of this.pendingTabs.values())
      pending.reject(new ToolError(`Chromium crashed: ${reason}`));
    this.pendingTabs.clear();
    if (!this.closing) void this.host.connect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const session of [...this.sessions.values()]) await this.disposeSession(session);
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
    return session && this.sessions.get(session.key) === session ? session : undefined;
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
    const session = targetInfo.browserContextId ? this.byContext.get(targetInfo.browserContextId) : undefined;
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
    if (!tab.closed && this.sessions.get(session.key) === session) {
      session.tabs.set(tab.targetId, tab);
      session.currentTabId ??= tab.targetId;
    }
    const pending = this.pendingTabs.get(targetInfo.targetId);
    this.pendingTabs.delete(targetInfo.targetId);
    pending?.resolve(tab);
  }
}

async function applyAll(tab: Tab, commands: EmulationCommand[]): Promise<void> {
  for (const command of commands) await tab.apply(command);
}

function keyOf(caller: Pick<Caller, "sessionKey" | "org">): string {
  return `${caller.org.orgId}\u0000${caller.sessionKey}`;
}
