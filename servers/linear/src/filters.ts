/** Turning the names people use (team keys, state names, emails, "me") into Linear filter inputs. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const STATE_TYPES = ["triage", "backlog", "unstarted", "started", "completed", "canceled"] as const;

export const isUuid = (ref: string) => UUID.test(ref);

/** A team by id, key (`ENG`) or name. */
export function teamFilter(ref: string): Record<string, unknown> {
  if (isUuid(ref)) return { id: { eq: ref } };
  return { or: [{ key: { eqIgnoreCase: ref } }, { name: { eqIgnoreCase: ref } }] };
}

/** A workflow state by id, name (`In Progress`) or type (`started`). */
export function stateFilter(ref: string): Record<string, unknown> {
  if (isUuid(ref)) return { id: { eq: ref } };
  const lower = ref.toLowerCase();
  if ((STATE_TYPES as readonly string[]).includes(lower)) {
    return { or: [{ type: { eq: lower } }, { name: { eqIgnoreCase: ref } }] };
  }
  return { name: { eqIgnoreCase: ref } };
}

/** A user by id, email, name, `me`, or (for nullable relations) `none` for "nobody". */
export function userFilter(ref: string): Record<string, unknown> {
  const lower = ref.toLowerCase();
  if (lower === "me") return { isMe: { eq: true } };
  if (lower === "none" || lower === "unassigned") return { null: true };
  if (isUuid(ref)) return { id: { eq: ref } };
  if (ref.includes("@")) return { email: { eqIgnoreCase: ref } };
  return {
    or: [{ name: { containsIgnoreCase: ref } }, { displayName: { containsIgnoreCase: ref } }],
  };
}

/** A project by id or (part of its) name. */
export function projectFilter(ref: string): Record<string, unknown> {
  if (ref.toLowerCase() === "none") return { null: true };
  if (isUuid(ref)) return { id: { eq: ref } };
  return { name: { containsIgnoreCase: ref } };
}

/** Issues carrying a label (by id or name). */
export function labelFilter(ref: string): Record<string, unknown> {
  return { some: isUuid(ref) ? { id: { eq: ref } } : { name: { eqIgnoreCase: ref } } };
}
