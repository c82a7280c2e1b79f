import type { AuthConfig, Me } from "@omni/contracts";
import { createSignal } from "solid-js";

/**
 * Who the dashboard acts as. Three ways in:
 * - Clerk (only when the gateway has `CLERK_PUBLISHABLE_KEY`): clerk-js is loaded lazily and every
 *   request carries the session token;
 * - local development mode: the gateway mints a 12-hour owner key of the demo organization;
 * - an API key of admin scope pasted in (e.g. the owner key the CLI creates).
 * Keys are held in sessionStorage (gone with the tab), never localStorage. Several keys (one per
 * organization) make the organization switcher.
 */
export interface HeldKey {
  key: string;
  orgId: string;
  orgName: string;
  /** Minted by the development-mode sign-in. */
  dev: boolean;
}

const STORE = "omni.admin.keys";
const ACTIVE = "omni.admin.active";

interface ClerkLike {
  session?: { getToken(): Promise<string | null> } | null;
  organization?: { id: string } | null;
  setActive(params: { organization: string }): Promise<void>;
  signOut(): Promise<void>;
  mountSignIn(node: HTMLDivElement): void;
  addListener(listener: () => void): void;
}

function readKeys(): HeldKey[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(STORE) ?? "[]");
    return Array.isArray(parsed) ? (parsed as HeldKey[]) : [];
  } catch {
    return [];
  }
}

const [keys, setKeysSignal] = createSignal<HeldKey[]>(readKeys());
const [activeIndex, setActiveIndex] = createSignal(Number(sessionStorage.getItem(ACTIVE) ?? 0) || 0);
const [me, setMe] = createSignal<Me | null>(null);
const [config, setConfig] = createSignal<AuthConfig | null>(null);
const [clerk, setClerk] = createSignal<ClerkLike | null>(null);

export { clerk, config, keys, me };

function saveKeys(next: HeldKey[]) {
  sessionStorage.setItem(STORE, JSON.stringify(next));
  setKeysSignal(next);
}

export function activeKey(): HeldKey | null {
  return keys()[activeIndex()] ?? keys()[0] ?? null;
}

/** The `Authorization` header value for the current credential, or null when signed out. */
export async function authorization(): Promise<string | null> {
  const held = activeKey();
  if (held) return `Bearer ${held.key}`;
  const token = await clerk()?.session?.getToken();
  return token ? `Bearer ${token}` : null;
}

/** Adds a key (or replaces the one held for its organization) and makes it the active one. */
export function holdKey(held: HeldKey) {
  const rest = keys().filter((k) => k.orgId !== held.orgId);
  const next = [...rest, held];
  saveKeys(next);
  setActiveIndex(next.length - 1);
  sessionStorage.setItem(ACTIVE, String(next.length - 1));
}

export function switchTo(orgId: string): boolean {
  const index = keys().findIndex((k) => k.orgId === orgId);
  if (index < 0) return false;
  setActiveIndex(index);
  sessionStorage.setItem(ACTIVE, String(index));
  return true;
}

export function setSignedIn(next: Me | null) {
  setMe(next);
}

export async function signOut() {
  const held = activeKey();
  if (held) {
    const rest = keys().filter((k) => k !== held);
    saveKeys(rest);
    setActiveIndex(0);
    sessionStorage.setItem(ACTIVE, "0");
  } else {
    await clerk()?.signOut();
  }
  setMe(null);
}

export function setAuthConfig(value: AuthConfig) {
  setConfig(value);
}

/** Loads clerk-js (never without a configured publishable key: it talks to Clerk's servers). */
export async function loadClerk(publishableKey: string): Promise<ClerkLike> {
  const loaded = clerk();
  if (loaded) return loaded;
  const { Clerk } = await import("@clerk/clerk-js");
  const instance = new Clerk(publishableKey);
  await instance.load();
  const like: ClerkLike = {
    get session() {
      return instance.session ?? null;
    },
    get organization() {
      return instance.organization ?? null;
    },
    setActive: (params) => instance.setActive(params),
    signOut: () => instance.signOut(),
    mountSignIn: (node) => instance.mountSignIn(node),
    addListener: (listener) => {
      instance.addListener(listener);
    },
  };
  setClerk(like);
  return like;
}

/** Whether the signed-in caller holds a permission. */
export function can(permission: string): boolean {
  return me()?.permissions.includes(permission) ?? false;
}

/** Why an action is unavailable (for disabled controls), or undefined when allowed. */
export function whyNot(permission: string): string | undefined {
  if (can(permission)) return undefined;
  return `Needs the "${permission}" permission; you are ${me()?.role ?? "signed out"}${
    me()?.via === "api_key" ? " (this API key's scopes)" : ""
  }.`;
}
