import { createResource } from "solid-js";
import { me } from "./auth.ts";

/**
 * One piece of a page's data with explicit states: `value()` (the latest value, kept while reloading, so
 * a refresh does not blank the page or trigger Suspense), `error()`, `loading()`, `reload()`. It refetches
 * when `key()` changes, and when the signed-in organization does (the org switcher).
 */
export function load<T, K = true>(fetcher: (key: K) => Promise<T>, key?: () => K) {
  const [resource, { refetch }] = createResource(
    () => ({ key: key ? key() : (true as K), org: me()?.org.id }),
    (source) => fetcher(source.key),
  );
  const value = (): T | undefined => (resource.error ? undefined : resource.latest);
  const error = (): unknown => resource.error;
  const reload = () => void refetch();
  return {
    value,
    error,
    loading: () => resource.loading,
    reload,
    /** The same states for a part of the value (e.g. the list in `{ servers: [...] }`). */
    select: <U>(part: (value: T) => U) => ({
      value: (): U | undefined => {
        const whole = value();
        return whole === undefined ? undefined : part(whole);
      },
      error,
      reload,
    }),
  };
}
