import { ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import type { ProtocolMapping } from "devtools-protocol/types/protocol-mapping.d.ts";
import type { CdpClient, CdpEvent } from "./browser.ts";

type Commands = ProtocolMapping.Commands;
type Events = ProtocolMapping.Events;

/** The typed parameters of a CDP event (the protocol's own types; the wire is Chromium's). */
function eventParams<E extends keyof Events>(event: CdpEvent, _name: E): Events[E][0] {
  return event.params as Events[E][0];
}

const MAX_ENTRIES = 1000;

type EmulationMethod =
  | "Emulation.setDeviceMetricsOverride"
  | "Emulation.clearDeviceMetricsOverride"
  | "Emulation.setTouchEmulationEnabled"
  | "Emulation.setUserAgentOverride"
  | "Emulation.setGeolocationOverride"
  | "Emulation.clearGeolocationOverride"
  | "Emulation.setCPUThrottlingRate"
  | "Emulation.setEmulatedMedia"
  | "Network.emulateNetworkConditions";

/** A CDP command that emulates something in a tab; a session replays its emulation in every new tab. */
export type EmulationCommand = {
  [M in EmulationMethod]: { method: M; params?: Commands[M]["paramsType"][0] };
}[EmulationMethod];

export interface ConsoleEntry {
  level: string;
  text: string;
  source: "console" | "browser";
  /** Each argument of a console.* call, objects as previews (`{build: 42}`). */
  args?: string[];
  /** Call stack of console.error/console.trace/console.assert calls, innermost first. */
  stack?: string[];
  url?: string;
  line?: number;
  at: string;
  /** Which document of the tab wrote it (bumped on every main-frame navigation). */
  navigation: number;
}
export interface PageError {
  message: string;
  stack?: string[];
  url?: string;
  line?: number;
  column?: number;
  at: string;
  navigation: number;
}
export interface NetRequest {
  id: string;
  url: string;
  method: string;
  type: string;
  requestHeaders: Record<string, string>;
  /** The headers the network stack really sent (Cookie, Host, …), from requestWillBeSentExtraInfo. */
  sentHeaders?: Record<string, string>;
  /** The raw response headers (Set-Cookie included), from responseReceivedExtraInfo. */
  rawResponseHeaders?: Record<string, string>;
  postData?: string;
  startedAt: string;
  startTs: number;
  loaderId: string;
  status?: number;
  statusText?: string;
  mimeType?: string;
  responseHeaders?: Record<string, string>;
  encodedSize?: number;
  durationMs?: number;
  failed?: string;
  blockedBy?: string;
  finished: boolean;
  fromCache?: boolean;
}
export interface DialogInfo {
  type: string;
  message: string;
  defaultPrompt?: string;
  url: string;
}
export interface BlockedRequest {
  url: string;
  reason: string;
  at: string;
}

interface Waiter {
  methods: Set<string>;
  predicate: (event: CdpEvent) => boolean;
  resolve: (event: CdpEvent) => void;
}

function push<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_ENTRIES) list.splice(0, list.length - MAX_ENTRIES);
}

function headerRecord(headers: Protocol.Network.Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(headers ?? {})) out[k] = String(value);
  return out;
}

function previewValue(p: Protocol.Runtime.PropertyPreview): string {
  if (p.type === "string") return JSON.stringify(p.value ?? "");
  if (p.valuePreview) return objectPreview(p.valuePreview);
  return p.value ?? p.subtype ?? p.type;
}

/** An object preview as a short literal: `{build: 42, tags: Array(2)}`, `[1, 2, 3]`, `Map(1) {"a" => 1}`. */
function objectPreview(preview: Protocol.Runtime.ObjectPreview): string {
  const more = preview.overflow ? ", …" : "";
  if (preview.subtype === "array" || preview.subtype === "typedarray") {
    return `[${preview.properties.map(previewValue).join(", ")}${more}]`;
  }
  if (preview.entries) {
    const entries = preview.entries.map((e) =>
      e.key ? `${objectPreview(e.key)} => ${objectPreview(e.value)}` : objectPreview(e.value),
    );
    return `${preview.description ?? ""} {${entries.join(", ")}${more}}`;
  }
  if (preview.type !== "object" || preview.subtype) return preview.description ?? preview.type;
  const props = preview.properties.map((p) => `${p.name}: ${previewValue(p)}`).join(", ");
  const name = preview.description && preview.description !== "Object" ? `${preview.description} ` : "";
  return `${name}{${props}${more}}`;
}

/** A remote object as console text: primitives by value, objects by their preview or description. */
export function remoteText(obj: Protocol.Runtime.RemoteObject): string {
  if (obj.type === "undefined") return "undefined";
  if (obj.unserializableValue) return obj.unserializableValue;
  if (obj.value !== undefined) return typeof obj.value === "string" ? obj.value : JSON.stringify(obj.value);
  if (obj.subtype === "error") return obj.description ?? "Error";
  if (obj.preview) return objectPreview(obj.preview);
  return obj.description ?? obj.type;
}

/** A stack trace as `fn (url:line:column)` lines, innermost first. */
function stackLines(trace: Protocol.Runtime.StackTrace | undefined): string[] | undefined {
  if (!trace || trace.callFrames.length === 0) return undefined;
  return trace.callFrames
    .slice(0, 20)
    .map(
      (f) =>
        `${f.functionName || "(anonymous)"} (${f.url || "<inline>"}:${f.lineNumber + 1}:${f.columnNumber + 1})`,
    );
}

const STACK_LEVELS = new Set(["error", "trace", "assert"]);

/** One page target of a session, attached with a flat CDP session; keeps its console, errors and network log. */
export class Tab {
  url = "about:blank";
  title = "";
  mainFrameId = "";
  crashed = false;
  closed = false;
  dialog: DialogInfo | null = null;
  readonly console: ConsoleEntry[] = [];
  readonly errors: PageError[] = [];
  readonly requests = new Map<string, NetRequest>();
  readonly blocked: BlockedRequest[] = [];
  readonly inflight = new Set<string>();
  lastNetworkActivity = Date.now();
  /** Element references from the accessibility snapshot: `e12` → backend DOM node id. */
  readonly refs = new Map<string, number>();
  readonly refByNode = new Map<number, string>();
  nextRef = 1;
  /** Main-frame navigations so far: console entries and errors say which document wrote them. */
  navigations = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly blockedIds = new Map<string, string>();
  private readonly extraInfo = new Map<
    string,
    { sent?: Record<string, string>; received?: Record<string, string> }
  >();
  private readonly listeners = new Map<string, Set<(event: CdpEvent) => void>>();

  constructor(
    readonly targetId: string,
    readonly cdpSessionId: string,
    private readonly client: CdpClient,
  ) {}

  send<M extends keyof Commands>(
    method: M,
    params?: Commands[M]["paramsType"][0],
  ): Promise<Commands[M]["returnType"]> {
    if (this.closed)
      return Promise.reject(new ToolError("This tab was closed; list tabs with chrome_list_tabs"));
    if (this.crashed) {
      return Promise.reject(new ToolError("This tab's renderer crashed; close it with chrome_close_tab"));
    }
    const send = this.client.send as unknown as (m: string, p: unknown, s: string) => Promise<unknown>;
    return send.call(this.client, method, params ?? {}, this.cdpSessionId) as Promise<
      Commands[M]["returnType"]
    >;
  }

  /** Send one emulation command. */
  apply(command: EmulationCommand): Promise<unknown> {
    const send = this.send as (method: EmulationMethod, params?: unknown) => Promise<unknown>;
    return send.call(this, command.method, command.params);
  }

  /** Resolves with the first of `methods` whose params satisfy `predicate`; `cancel` drops the wait. */
  waitFor(
    methods: string[],
    predicate: (event: CdpEvent) => boolean = () => true,
  ): { promise: Promise<CdpEvent>; cancel: () => void } {
    let waiter: Waiter | undefined;
    const promise = new Promise<CdpEvent>((resolve) => {
      waiter = { methods: new Set(methods), predicate, resolve };
      this.waiters.add(waiter);
    });
    return {
      promise,
      cancel: () => {
        if (waiter) this.waiters.delete(waiter);
      },
    };
  }

  /** Call `fn` for every `method` event until the returned function is called. */
  listen(method: string, fn: (event: CdpEvent) => void): () => void {
    let set = this.listeners.get(method);
    if (!set) {
      set = new Set();
      this.listeners.set(method, set);
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Resolves when a JavaScript dialog is (or becomes) open. */
  dialogOpened(): { promise: Promise<DialogInfo>; cancel: () => void } {
    if (this.dialog) {
      const open = this.dialog;
      return { promise: Promise.resolve(open), cancel: () => undefined };
    }
    const wait = this.waitFor(["Page.javascriptDialogOpening"]);
    return {
      promise: wait.promise.then(() => this.dialog ?? { type: "alert", message: "", url: this.url }),
      cancel: wait.cancel,
    };
  }

  /** Enable the domains the tools use, apply the session's headers and emulation, then let the target run. */
  async setup(extraHeaders: Record<string, string>, emulation: EmulationCommand[] = []): Promise<void> {
    const steps: Promise<unknown>[] = [
      this.send("Page.enable"),
      this.send("Runtime.enable"),
      this.send("Network.enable", {}),
      this.send("Log.enable"),
      this.send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] }),
      this.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }),
      this.send("Page.getFrameTree").then((tree) => {
        this.mainFrameId = tree.frameTree.frame.id;
        this.url = tree.frameTree.frame.url;
      }),
    ];
    if (Object.keys(extraHeaders).length > 0) {
      steps.push(this.send("Network.setExtraHTTPHeaders", { headers: extraHeaders }));
    }
    // Commands of one CDP session run in order, so these follow Network.enable. They succeeded in the
    // tab they were first applied to; a failure here must not keep the target paused.
    for (const command of emulation) steps.push(this.apply(command).catch(() => undefined));
    await Promise.all(steps);
    await this.send("Runtime.runIfWaitingForDebugger");
  }

  handle(event: CdpEvent): void {
    const now = new Date().toISOString();
    switch (event.method) {
      case "Runtime.consoleAPICalled": {
        const p = eventParams(event, "Runtime.consoleAPICalled");
        const frame = p.stackTrace?.callFrames[0];
        const args = p.args.map(remoteText);
        const entry: ConsoleEntry = {
          level: p.type === "warning" ? "warn" : p.type,
          text: args.join(" "),
          source: "console",
          at: now,
          navigation: this.navigations,
        };
        if (args.length > 1 || p.args.some((a) => a.type === "object")) entry.args = args;
        const stack = STACK_LEVELS.has(p.type) ? stackLines(p.stackTrace) : undefined;
        if (stack) entry.stack = stack;
        if (frame) {
          entry.url = frame.url;
          entry.line = frame.lineNumber + 1;
        }
        push(this.console, entry);
        break;
      }
      case "Log.entryAdded": {
        const { entry } = eventParams(event, "Log.entryAdded");
        const item: ConsoleEntry = {
          level: entry.level,
          text: entry.text,
          source: "browser",
          at: now,
          navigation: this.navigations,
        };
        if (entry.url) item.url = entry.url;
        if (entry.lineNumber !== undefined) item.line = entry.lineNumber + 1;
        push(this.console, item);
        break;
      }
      case "Runtime.exceptionThrown": {
        const { exceptionDetails: d } = eventParams(event, "Runtime.exceptionThrown");
        const error: PageError = {
          message: d.exception?.description ?? d.text,
          at: now,
          navigation: this.navigations,
        };
        const stack = stackLines(d.stackTrace);
        if (stack) error.stack = stack;
        if (d.url) error.url = d.url;
        error.line = d.lineNumber + 1;
        error.column = d.columnNumber + 1;
        push(this.errors, error);
        break;
      }
      case "Page.frameNavigated": {
        const { frame } = eventParams(event, "Page.frameNavigated");
        if (!frame.parentId) {
          this.mainFrameId = frame.id;
          this.url = frame.url + (frame.urlFragment ?? "");
          this.navigations++;
          this.refs.clear();
          this.refByNode.clear();
          // Requests of the previous document are gone with it, whether or not they reported an end.
          for (const id of this.inflight) {
            if (this.requests.get(id)?.loaderId !== frame.loaderId) this.inflight.delete(id);
          }
        }
        break;
      }
      case "Page.navigatedWithinDocument": {
        const p = eventParams(event, "Page.navigatedWithinDocument");
        if (p.frameId === this.mainFrameId) this.url = p.url;
        break;
      }
      case "Page.javascriptDialogOpening": {
        const p = eventParams(event, "Page.javascriptDialogOpening");
        this.dialog = { type: p.type, message: p.message, url: p.url };
        if (p.defaultPrompt !== undefined) this.dialog.defaultPrompt = p.defaultPrompt;
        break;
      }
      case "Page.javascriptDialogClosed":
        this.dialog = null;
        break;
      case "Inspector.targetCrashed":
        this.crashed = true;
        break;
      case "Network.requestWillBeSent": {
        const p = eventParams(event, "Network.requestWillBeSent");
        const req: NetRequest = {
          id: p.requestId,
          url: p.request.url,
          method: p.request.method,
          type: p.type ?? "Other",
          requestHeaders: headerRecord(p.request.headers),
          startedAt: new Date(p.wallTime * 1000).toISOString(),
          startTs: p.timestamp,
          loaderId: p.loaderId,
          finished: false,
        };
        if (p.request.postData !== undefined) req.postData = p.request.postData;
        const extra = this.extraInfo.get(p.requestId);
        if (extra?.sent) req.sentHeaders = extra.sent;
        if (extra?.received) req.rawResponseHeaders = extra.received;
        this.extraInfo.delete(p.requestId);
        const blockedBy = this.blockedIds.get(p.requestId);
        if (blockedBy) {
          req.blockedBy = blockedBy;
          this.blockedIds.delete(p.requestId);
        }
        this.requests.delete(p.requestId);
        this.requests.set(p.requestId, req);
        if (this.requests.size > MAX_ENTRIES) {
          const oldest = this.requests.keys().next().value;
          if (oldest !== undefined) this.requests.delete(oldest);
        }
        this.inflight.add(p.requestId);
        this.lastNetworkActivity = Date.now();
        break;
      }
      // The headers the network stack adds may be reported before or after the request itself.
      case "Network.requestWillBeSentExtraInfo": {
        const p = eventParams(event, "Network.requestWillBeSentExtraInfo");
        const req = this.requests.get(p.requestId);
        if (req) req.sentHeaders = headerRecord(p.headers);
        else this.noteExtraInfo(p.requestId, { sent: headerRecord(p.headers) });
        break;
      }
      case "Network.responseReceivedExtraInfo": {
        const p = eventParams(event, "Network.responseReceivedExtraInfo");
        const req = this.requests.get(p.requestId);
        if (req) req.rawResponseHeaders = headerRecord(p.headers);
        else this.noteExtraInfo(p.requestId, { received: headerRecord(p.headers) });
        break;
      }
      case "Network.responseReceived": {
        const p = eventParams(event, "Network.responseReceived");
        const req = this.requests.get(p.requestId);
        if (req) {
          req.status = p.response.status;
          req.statusText = p.response.statusText;
          req.mimeType = p.response.mimeType;
          req.responseHeaders = headerRecord(p.response.headers);
          if (p.response.fromDiskCache) req.fromCache = true;
        }
        break;
      }
      case "Network.loadingFinished": {
        const p = eventParams(event, "Network.loadingFinished");
        const req = this.requests.get(p.requestId);
        if (req) {
          req.finished = true;
          req.encodedSize = p.encodedDataLength;
          req.durationMs = Math.round((p.timestamp - req.startTs) * 1000);
        }
        this.inflight.delete(p.requestId);
        this.lastNetworkActivity = Date.now();
        break;
      }
      case "Network.loadingFailed": {
        const p = eventParams(event, "Network.loadingFailed");
        const req = this.requests.get(p.requestId);
        if (req) {
          req.finished = true;
          req.failed = p.errorText;
          if (p.blockedReason) req.blockedBy ??= p.blockedReason;
          req.durationMs = Math.round((p.timestamp - req.startTs) * 1000);
        }
        this.inflight.delete(p.requestId);
        this.lastNetworkActivity = Date.now();
        break;
      }
    }
    for (const fn of this.listeners.get(event.method) ?? []) fn(event);
    for (const waiter of this.waiters) {
      if (waiter.methods.has(event.method) && waiter.predicate(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }

  private noteExtraInfo(
    id: string,
    info: { sent?: Record<string, string>; received?: Record<string, string> },
  ): void {
    if (this.extraInfo.size >= MAX_ENTRIES) this.extraInfo.clear();
    this.extraInfo.set(id, { ...this.extraInfo.get(id), ...info });
  }

  /** Note a request the URL policy stopped (called by the Fetch interception). */
  noteBlocked(url: string, reason: string, networkId: string | undefined): void {
    push(this.blocked, { url, reason, at: new Date().toISOString() });
    if (!networkId) return;
    const req = this.requests.get(networkId);
    if (req) req.blockedBy = reason;
    // Interception may report before the network log does.
    else {
      if (this.blockedIds.size >= MAX_ENTRIES) this.blockedIds.clear();
      this.blockedIds.set(networkId, reason);
    }
  }

  markClosed(): void {
    this.closed = true;
    for (const waiter of this.waiters) waiter.resolve({ method: "Tab.closed", params: {} });
    this.waiters.clear();
  }

  /**
   * Evaluate an expression in the page and return its JSON value. Page exceptions become tool errors; a
   * dialog that blocks the page ends the wait with an error that says how to answer it.
   */
  async evaluate(expression: string, options: { awaitPromise?: boolean; userGesture?: boolean } = {}) {
    return this.script(
      this.send("Runtime.evaluate", {
        expression,
        returnByValue: true,
        awaitPromise: options.awaitPromise ?? true,
        userGesture: options.userGesture ?? false,
      }),
    );
  }

  /** Call `fn` with `this` bound to a remote object; returns the JSON value. */
  async callOn(objectId: string, fn: string, args: unknown[] = []): Promise<unknown> {
    const result = await this.script(
      this.send("Runtime.callFunctionOn", {
        objectId,
        functionDeclaration: fn,
        arguments: args.map((value) => ({ value })),
        returnByValue: true,
        awaitPromise: true,
      }),
    );
    return result.value;
  }

  /** Wait for a script command (guarded against dialogs); an exception it threw is a tool error. */
  async script(
    command: Promise<{
      result: Protocol.Runtime.RemoteObject;
      exceptionDetails?: Protocol.Runtime.ExceptionDetails;
    }>,
  ): Promise<Protocol.Runtime.RemoteObject> {
    const result = await this.guard(command);
    if (result.exceptionDetails)
      throw new ToolError(`JavaScript error: ${exceptionText(result.exceptionDetails)}`);
    return result.result;
  }

  /** Race a page command with a dialog opening (which would block it). */
  async guard<T>(promise: Promise<T>): Promise<T> {
    const dialog = this.dialogOpened();
    let opened: DialogInfo | undefined;
    try {
      await Promise.race([
        promise.then(
          () => undefined,
          () => undefined,
        ),
        dialog.promise.then((d) => {
          opened = d;
        }),
      ]);
    } finally {
      dialog.cancel();
    }
    if (opened) {
      throw new ToolError(
        `A ${opened.type} dialog is open ("${opened.message}") and blocks the page: answer it with chrome_handle_dialog`,
      );
    }
    return promise;
  }
}

export function exceptionText(details: Protocol.Runtime.ExceptionDetails): string {
  return details.exception?.description?.split("\n")[0] ?? details.text;
}
