import type { RouteDefinition } from "@solidjs/router";
import { lazy } from "solid-js";

/** Every page, lazily loaded, with the nav group and the permission it reads with. */
export interface Page {
  path: string;
  title: string;
  group: "Monitor" | "Catalog" | "Access" | "Connect";
  /** Permission needed to read the page (none: anyone signed in). */
  need?: string;
  component: RouteDefinition["component"];
}

export const PAGES: Page[] = [
  {
    path: "/",
    title: "Overview",
    group: "Monitor",
    need: "audit:read",
    component: lazy(() => import("./pages/Overview.tsx")),
  },
  {
    path: "/sessions",
    title: "Sessions",
    group: "Monitor",
    need: "admin:read",
    component: lazy(() => import("./pages/Sessions.tsx")),
  },
  {
    path: "/audit",
    title: "Audit",
    group: "Monitor",
    need: "audit:read",
    component: lazy(() => import("./pages/Audit.tsx")),
  },
  {
    path: "/servers",
    title: "Servers",
    group: "Catalog",
    need: "admin:read",
    component: lazy(() => import("./pages/Servers.tsx")),
  },
  {
    path: "/tools",
    title: "Tools",
    group: "Catalog",
    need: "tools:call",
    component: lazy(() => import("./pages/Tools.tsx")),
  },
  {
    path: "/prompts",
    title: "Prompts",
    group: "Catalog",
    need: "admin:read",
    component: lazy(() => import("./pages/Prompts.tsx")),
  },
  {
    path: "/resources",
    title: "Resources",
    group: "Catalog",
    need: "admin:read",
    component: lazy(() => import("./pages/Resources.tsx")),
  },
  {
    path: "/federation",
    title: "Federated servers",
    group: "Catalog",
    need: "admin:read",
    component: lazy(() => import("./pages/Federation.tsx")),
  },
  {
    path: "/policy",
    title: "Tool policy",
    group: "Access",
    need: "admin:read",
    component: lazy(() => import("./pages/Policy.tsx")),
  },
  {
    path: "/members",
    title: "Members",
    group: "Access",
    need: "members:read",
    component: lazy(() => import("./pages/Members.tsx")),
  },
  {
    path: "/keys",
    title: "API keys",
    group: "Access",
    need: "keys:read",
    component: lazy(() => import("./pages/Keys.tsx")),
  },
  {
    path: "/settings",
    title: "Settings",
    group: "Access",
    need: "admin:read",
    component: lazy(() => import("./pages/Settings.tsx")),
  },
  {
    path: "/connect",
    title: "Connect",
    group: "Connect",
    component: lazy(() => import("./pages/Connect.tsx")),
  },
  {
    path: "/api-reference",
    title: "API reference",
    group: "Connect",
    component: lazy(() => import("./pages/ApiReference.tsx")),
  },
];

export const GROUPS = ["Monitor", "Catalog", "Access", "Connect"] as const;
