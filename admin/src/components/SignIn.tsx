import { createSignal, onMount, Show } from "solid-js";
import { api, errorMessage } from "../lib/api.ts";
import { activeKey, config, holdKey, loadClerk, me, setSignedIn } from "../lib/auth.ts";

/** Tries a key: asks the gateway who it is, and holds it (sessionStorage) when it works. */
async function signInWithKey(key: string, dev: boolean): Promise<string | null> {
  const { data, error } = await api.me.get({ headers: { authorization: `Bearer ${key}` } });
  if (error) return errorMessage(error);
  if (!data.permissions.includes("admin:read")) {
    return "This key has no admin scope (admin:read): the dashboard needs an admin or owner key.";
  }
  holdKey({ key, orgId: data.org.id, orgName: data.org.name, dev });
  setSignedIn(data);
  return null;
}

export function SignIn() {
  const [key, setKey] = createSignal("");
  const [problem, setProblem] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  let clerkMount: HTMLDivElement | undefined;

  onMount(async () => {
    const publishable = config()?.clerkPublishableKey;
    if (!publishable || !clerkMount) return;
    try {
      const clerk = await loadClerk(publishable);
      clerk.addListener(async () => {
        if (!clerk.session || activeKey()) return;
        const { data } = await api.me.get();
        if (data) setSignedIn(data);
      });
      if (!clerk.session) clerk.mountSignIn(clerkMount);
    } catch (error) {
      setProblem(`Clerk could not load: ${errorMessage(error)}`);
    }
  });

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(await signInWithKey(key().trim(), false));
    setBusy(false);
  };

  const dev = async () => {
    setBusy(true);
    const { data, error } = await api.dev["sign-in"].post();
    setProblem(error ? errorMessage(error) : await signInWithKey(data.secret, true));
    setBusy(false);
  };

  return (
    <main class="signin" id="main">
      <div class="card">
        <h1>Sign in to Omni MCP</h1>
        <Show when={me() === null && activeKey()}>
          <p class="muted">Add another organization with its API key, or continue below.</p>
        </Show>
        <Show when={config()?.clerkPublishableKey}>
          <section aria-label="Sign in with Clerk">
            <div ref={clerkMount} />
          </section>
        </Show>
        <Show when={config()?.devMode}>
          <section class="dev" aria-labelledby="dev-title">
            <h2 id="dev-title">Local development mode</h2>
            <p>
              This gateway runs in development mode on loopback: continue as the owner of the seeded{" "}
              <strong>demo organization</strong> (a 12-hour key, held in this tab only).
            </p>
            <button type="button" class="primary" disabled={busy()} onClick={() => void dev()}>
              Continue as the demo organization
            </button>
          </section>
        </Show>
        <form onSubmit={(e) => void submit(e)} aria-labelledby="key-title">
          <h2 id="key-title">Sign in with an API key</h2>
          <p class="muted">
            An admin or owner key of your organization (e.g. the one <code>omni</code> created). It is kept in
            this tab's session storage only.
          </p>
          <label for="api-key">API key</label>
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            placeholder="omni_sk_…"
            value={key()}
            onInput={(e) => setKey(e.currentTarget.value)}
            required
          />
          <button type="submit" class="primary" disabled={busy() || !key().trim()}>
            Sign in
          </button>
        </form>
        <Show when={problem()}>
          <p class="notice bad" role="alert">
            {problem()}
          </p>
        </Show>
      </div>
    </main>
  );
}
