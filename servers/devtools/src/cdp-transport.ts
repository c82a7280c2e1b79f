import type { ConnectionTransport } from "puppeteer-core";
import type { CdpEvent } from "./browser.ts";

/** What the adapter needs of the server's one CDP connection to Chromium (WebSocket or pipe). */
export interface CdpConnection {
  send(method: string, params: Record<string, unknown>, sessionId?: string): Promise<unknown>;
  /** Subscribe to every event of the connection; returns the unsubscribe function. */
  onEvent(listener: (event: CdpEvent) => void): () => void;
}

interface Outgoing {
  id: number;
  method: string;
  params?: Record<string, unknown>;
  sessionId?: string;
}

/**
 * A puppeteer `ConnectionTransport` over the server's existing CDP connection, so a library that drives
 * puppeteer (Lighthouse) works on the session's own browser without a debugging port. It attaches to the
 * browser target (`Target.attachToBrowserTarget`): puppeteer's browser-level commands run in that
 * separate session, so its auto-attach and discovery settings never touch the server's own, and only
 * events of that session and of the sessions it opened reach puppeteer. Puppeteer sees only the targets
 * of one browser context (the MCP session's own): other sessions' targets are hidden from it, and an
 * auto-attached session to one of them is resumed and detached at once.
 */
export class SharedConnectionTransport implements ConnectionTransport {
  onmessage?: (message: string) => void;
  onclose?: () => void;
  private readonly owned = new Set<string>();
  private readonly known = new Set<string>();
  private closed = false;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly connection: CdpConnection,
    private readonly root: string,
    private readonly contextId: string,
  ) {
    this.owned.add(root);
    this.unsubscribe = connection.onEvent((event) => this.onEvent(event));
  }

  static async open(connection: CdpConnection, contextId: string): Promise<SharedConnectionTransport> {
    const { sessionId } = (await connection.send("Target.attachToBrowserTarget", {})) as {
      sessionId: string;
    };
    return new SharedConnectionTransport(connection, sessionId, contextId);
  }

  send(message: string): void {
    const msg = JSON.parse(message) as Outgoing;
    const sessionId = msg.sessionId ?? this.root;
    this.connection.send(msg.method, msg.params ?? {}, sessionId).then(
      (result) => {
        if (msg.method === "Target.attachToTarget") {
          const attached = (result as { sessionId?: string }).sessionId;
          if (attached) this.owned.add(attached);
        }
        if (msg.method === "Target.getTargets" && !msg.sessionId) {
          const list = result as { targetInfos?: { browserContextId?: string }[] };
          result = {
            ...list,
            targetInfos: (list.targetInfos ?? []).filter((t) => t.browserContextId === this.contextId),
          };
        }
        this.deliver({ id: msg.id, result, ...(msg.sessionId ? { sessionId: msg.sessionId } : {}) });
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.deliver({
          id: msg.id,
          error: { code: -32000, message },
          ...(msg.sessionId ? { sessionId: msg.sessionId } : {}),
        });
      },
    );
  }

  private onEvent(event: CdpEvent): void {
    if (!event.sessionId || !this.owned.has(event.sessionId)) return;
    if (event.sessionId === this.root && !this.visible(event)) {
      if (event.method === "Target.attachedToTarget" && typeof event.params.sessionId === "string") {
        const other = event.params.sessionId;
        void this.connection
          .send("Runtime.runIfWaitingForDebugger", {}, other)
          .catch(() => undefined)
          .then(() => this.connection.send("Target.detachFromTarget", { sessionId: other }, this.root))
          .catch(() => undefined);
      }
      return;
    }
    if (event.method === "Target.attachedToTarget") {
      const attached = event.params.sessionId;
      if (typeof attached === "string") this.owned.add(attached);
    }
    if (event.method === "Target.detachedFromTarget") {
      const detached = event.params.sessionId;
      if (typeof detached === "string") this.owned.delete(detached);
    }
    const message =
      event.sessionId === this.root
        ? { method: event.method, params: event.params }
        : { method: event.method, params: event.params, sessionId: event.sessionId };
    this.deliver(message);
  }

  /** Browser-level target events are shown for the targets of the one browser context only. */
  private visible(event: CdpEvent): boolean {
    if (!event.method.startsWith("Target.")) return true;
    const info = event.params.targetInfo as { targetId?: string; browserContextId?: string } | undefined;
    if (info?.targetId) {
      if (info.browserContextId !== this.contextId) return false;
      this.known.add(info.targetId);
      return true;
    }
    const id = event.params.targetId;
    return typeof id !== "string" || this.known.has(id);
  }

  private deliver(message: unknown): void {
    if (this.closed) return;
    // Puppeteer expects to be called asynchronously, like a socket would.
    queueMicrotask(() => this.onmessage?.(JSON.stringify(message)));
  }

  /** Whether a CDP session belongs to this transport (the server's own routing ignores those). */
  owns(sessionId: string): boolean {
    return this.owned.has(sessionId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    void this.connection.send("Target.detachFromTarget", { sessionId: this.root }).catch(() => undefined);
    this.onclose?.();
  }
}
