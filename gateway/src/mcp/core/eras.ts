/**
 * The protocol eras as data: an era is the set of methods it knows. A method outside its era's set is
 * -32601 (the 2026-07-28 edge answers it with HTTP 404); removing a method from an era is removing its
 * name here. Handlers are era-blind: `Dispatcher` binds each name to a handler (`core/handlers.ts`, the
 * modern edge's `modern/methods.ts`).
 */

/** Methods both eras serve, with one handler each. */
const SHARED_METHODS = [
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
] as const;

/** Served to 2025 sessions (Streamable HTTP with `Mcp-Session-Id`, WebSocket). */
export const SESSION_METHODS = [
  "initialize",
  "ping",
  ...SHARED_METHODS,
  "resources/subscribe",
  "resources/unsubscribe",
  "logging/setLevel",
] as const;

/** Served to stateless 2026-07-28 requests. */
export const MODERN_METHODS = [
  "server/discover",
  ...SHARED_METHODS,
  "subscriptions/listen",
  "tasks/get",
  "tasks/update",
  "tasks/cancel",
] as const;

/** What a background task run may call (the tasks extension re-runs the tool, nothing else). */
export const TASK_RUN_METHODS = ["tools/call"] as const;

export const ERAS = {
  session: new Set<string>(SESSION_METHODS),
  modern: new Set<string>(MODERN_METHODS),
  task: new Set<string>(TASK_RUN_METHODS),
} as const;

/** Methods of the 2025 era that 2026-07-28 removed (their -32601 says so). */
export const REMOVED_IN_MODERN: ReadonlySet<string> = new Set(
  SESSION_METHODS.filter((name) => !ERAS.modern.has(name)),
);
