import { A, type RouteSectionProps, useLocation } from "@solidjs/router";
import { createResource, createSignal, For, Match, Show, Suspense, Switch } from "solid-js";
import { api, unwrap } from "../lib/api.ts";
import { activeKey, can, keys, me, setAuthConfig, setSignedIn, signOut, switchTo } from "../lib/auth.ts";
import { GROUPS, PAGES } from "../routes.ts";
import { SignIn } from "./SignIn.tsx";
import { ErrorBox, Loading } from "./ui.tsx";

/** Boot: which sign-in methods exist, then who the held credential is (if any). */
async function boot() {
  setAuthConfig(await unwrap(api["auth-config"].get()));
  if (!activeKey()) return null;
  const { data } = await api.me.get();
  setSignedIn(data ?? null);
  return data ?? null;
}

export function Layout(props: RouteSectionProps) {
  const [booted, { refetch }] = createResource(boot);
  const [menuOpen, setMenuOpen] = createSignal(false);
  const location = useLocation();
  // The router's pathname includes its base ("/admin").
  const path = () => location.pathname.replace(/^\/admin(?=\/|$)/, "") || "/";
  const current = () => PAGES.find((p) => (p.path === "/" ? path() === "/" : path().startsWith(p.path)));

  const switchOrg = async (orgId: string) => {
    if (orgId === "__add") {
      setSignedIn(null);
      return;
    }
    if (switchTo(orgId)) {
      const { data } = await api.me.get();
      setSignedIn(data ?? null);
    }
  };

  return (
    <Switch>
      <Match when={booted.error}>
        <main class="centered">
          <ErrorBox error={booted.error} retry={refetch} />
        </main>
      </Match>
      <Match when={booted.loading}>
        <main class="centered">
          <Loading what="the dashboard" />
        </main>
      </Match>
      <Match when={!me()}>
        <SignIn />
      </Match>
      <Match when={me()}>
        {(who) => (
          <div class="shell">
            <a class="skip" href="#main">
              Skip to content
            </a>
            <header class="topbar">
              <button
                type="button"
                class="menu-toggle"
                aria-expanded={menuOpen()}
                aria-controls="nav"
                onClick={() => setMenuOpen(!menuOpen())}
              >
                Menu
              </button>
              <span class="brand">Omni MCP</span>
              <Show when={activeKey()?.dev}>
                <span
                  class="badge warn"
                  title="Local development mode: you act as the demo organization's owner"
                >
                  Development mode · demo organization
                </span>
              </Show>
              <label class="org-switch">
                <span class="sr-only">Organization</span>
                <select
                  aria-label="Organization"
                  value={who().org.id}
                  onChange={(e) => void switchOrg(e.currentTarget.value)}
                >
                  <For each={orgChoices(who().org.id)}>{(o) => <option value={o.id}>{o.name}</option>}</For>
                  <option value="__add">Add an organization (API key)…</option>
                </select>
              </label>
              <span class="identity">
                <span class="who">
                  {who().user?.name ?? who().user?.email ?? who().key?.name ?? "API key"}
                </span>
                <span class="badge info" data-testid="role">
                  {who().role}
                </span>
              </span>
              <button type="button" class="ghost" onClick={() => void signOut()}>
                Sign out
              </button>
            </header>
            <nav id="nav" class="sidenav" classList={{ open: menuOpen() }} aria-label="Main">
              <For each={GROUPS}>
                {(group) => (
                  <div class="nav-group">
                    <h2>{group}</h2>
                    <ul>
                      <For each={PAGES.filter((p) => p.group === group)}>
                        {(page) => (
                          <li>
                            <A
                              href={page.path}
                              end={page.path === "/"}
                              onClick={() => setMenuOpen(false)}
                              title={
                                page.need && !can(page.need)
                                  ? `Needs the "${page.need}" permission`
                                  : undefined
                              }
                            >
                              {page.title}
                              <Show when={page.need && !can(page.need)}>
                                <span class="sr-only"> (no access)</span>
                                <span aria-hidden="true" class="lock">
                                  ·
                                </span>
                              </Show>
                            </A>
                          </li>
                        )}
                      </For>
                    </ul>
                  </div>
                )}
              </For>
            </nav>
            <main id="main" class="content" tabindex="-1">
              <Show
                when={!current()?.need || can(current()!.need!)}
                fallback={
                  <div class="state empty" role="note">
                    <strong>{current()?.title} is not available to you.</strong>
                    <p>
                      It needs the "{current()?.need}" permission; you are {who().role}. Ask an owner of{" "}
                      {who().org.name} for access.
                    </p>
                  </div>
                }
              >
                <Suspense fallback={<Loading what={current()?.title ?? "the page"} />}>
                  {props.children}
                </Suspense>
              </Show>
            </main>
          </div>
        )}
      </Match>
    </Switch>
  );
}

/** The organizations to switch between: held keys, plus Clerk memberships of the signed-in user. */
function orgChoices(currentId: string) {
  const seen = new Map<string, string>();
  for (const m of me()?.memberships ?? []) seen.set(m.org.id, m.org.name);
  for (const k of keys()) seen.set(k.orgId, k.orgName);
  if (!seen.has(currentId) && me()) seen.set(currentId, me()!.org.name);
  return [...seen].map(([id, name]) => ({ id, name }));
}
