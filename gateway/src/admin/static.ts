import { existsSync } from "node:fs";
import { join, normalize, sep } from "node:path";
import { Elysia } from "elysia";

/** The built dashboard: `admin/dist` of this repository (`bun run --cwd admin build`). */
export const DEFAULT_ADMIN_DIST = new URL("../../../admin/dist", import.meta.url).pathname;

/**
 * The Clerk Frontend API host encoded in a publishable key (`pk_test_<base64("host$")>`), or null.
 * clerk-js loads its UI from there and talks to it, so the dashboard's CSP allows it.
 */
export function clerkFrontendApi(publishableKey: string | undefined): string | null {
  const encoded = publishableKey?.match(/^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/)?.[1];
  if (!encoded) return null;
  const host = Buffer.from(encoded, "base64").toString("utf8").replace(/\$$/, "");
  return /^[a-z0-9.-]+$/i.test(host) ? host : null;
}

/** Content-Security-Policy of the dashboard: its own origin only (plus Clerk's Frontend API when used). */
export function dashboardCsp(clerkHost: string | null): string {
  const clerk = clerkHost ? ` https://${clerkHost}` : "";
  return [
    "default-src 'self'",
    `script-src 'self'${clerk}`,
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${clerk ? `${clerk} https://img.clerk.com` : ""}`,
    `connect-src 'self'${clerk}`,
    `frame-src 'self'${clerk}`,
    "worker-src 'self' blob:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Serves the built dashboard at `/admin` (same origin as the API, so no CORS): hashed files under
 * `/admin/assets/` are cached for a year (immutable), `index.html` is revalidated on every load, and any
 * path without a file extension is the single-page app's route (answered with `index.html`). A missing
 * build is a 503 saying how to build it.
 */
export function adminStaticRoutes(opts: { dist?: string; clerkPublishableKey?: string } = {}) {
  const dist = normalize(opts.dist ?? DEFAULT_ADMIN_DIST);
  const csp = dashboardCsp(clerkFrontendApi(opts.clerkPublishableKey));
  const index = join(dist, "index.html");

  const serve = async (path: string, set: { headers: Record<string, string | number> }) => {
    set.headers["content-security-policy"] = csp;
    const relative = decodeURIComponent(path.replace(/^\/admin\/?/, ""));
    const file = normalize(join(dist, relative));
    const inside = file === dist || file.startsWith(dist + sep);
    const isAsset = /\.[a-z0-9]+$/i.test(relative);
    if (inside && isAsset && !relative.includes("\0")) {
      const found = Bun.file(file);
      if (await found.exists()) {
        set.headers["cache-control"] = relative.startsWith("assets/")
          ? "public, max-age=31536000, immutable"
          : "no-cache";
        return found;
      }
    }
    if (isAsset) return new Response("Not found", { status: 404, headers: { "content-type": "text/plain" } });
    if (!existsSync(index)) {
      return new Response(
        "The admin dashboard is not built: run `bun run --cwd admin build` (bun run dev does it).",
        { status: 503, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    set.headers["cache-control"] = "no-cache";
    set.headers["content-type"] = "text/html; charset=utf-8";
    return Bun.file(index);
  };

  return new Elysia({ name: "omni-admin-static" })
    .get("/admin", ({ set }) => serve("/admin", set), { detail: { hide: true } })
    .get("/admin/*", ({ path, set }) => serve(path, set), { detail: { hide: true } });
}
