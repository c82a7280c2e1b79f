import type { ServerCapabilities } from "@omni/contracts";
import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../src/index.ts";
import { createTestDatabase, registerCatalogue } from "../src/index.ts";

export const KINDS = ["pglite", "postgres"] as const;
export type Kind = (typeof KINDS)[number];

/** Rows of a raw query, whichever driver ran it (postgres-js returns an array, PGlite `{ rows }`). */
export async function rows<T = Record<string, unknown>>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return (result as { rows: T[] }).rows;
}

export async function count(db: Database, table: string, where?: SQL): Promise<number> {
  const [row] = await rows<{ n: number | string }>(
    db,
    sql`select count(*)::int as n from ${sql.identifier(table)} ${where ? sql`where ${where}` : sql``}`,
  );
  return Number(row!.n);
}

/** A server's capabilities as `/rpc/capabilities` serves them: what `registerCatalogue` upserts. */
export function capabilities(
  name: string,
  extra: Partial<Omit<ServerCapabilities, "server">> & {
    server?: Partial<ServerCapabilities["server"]>;
  } = {},
): ServerCapabilities {
  const { server, ...rest } = extra;
  return {
    server: { name, version: "1.0.0", title: `${name} title`, description: `What ${name} does.`, ...server },
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    ...rest,
  };
}

const message = (text: string) => [{ role: "user" as const, text }];

/** Three catalogue servers as a gateway would register them (the suites' `srv_linear`, ...). */
export const TEST_CATALOGUE: ServerCapabilities[] = [
  capabilities("linear", {
    prompts: [
      {
        name: "issue-triage",
        arguments: [{ name: "team", required: true }],
        messages: message("Triage {{team}}."),
      },
      { name: "workflow", messages: message("Move it.") },
    ],
    defaultResources: [
      { uri: "linear://templates/issue", name: "issue-templates", mimeType: "text/markdown", text: "# Bug" },
    ],
  }),
  capabilities("perplexity", { prompts: [{ name: "analysis", messages: message("Compare.") }] }),
  capabilities("devtools", { prompts: [{ name: "debugging", messages: message("Debug.") }] }),
];

/** Opens a test database of the kind (seeded: the demo org and TEST_CATALOGUE), or logs that Postgres is unreachable and returns null. */
export async function open(kind: Kind, seed = false, onQuery?: (sql: string) => void) {
  const handle = await createTestDatabase(kind, { seed, onQuery });
  if (handle && seed) for (const caps of TEST_CATALOGUE) await registerCatalogue(handle.db, caps);
  if (!handle) {
    console.warn(
      `SKIPPED: db ${kind} suite: no Postgres reachable at ${process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"}`,
    );
  }
  return handle;
}

export const unique = () => crypto.randomUUID().slice(0, 8);

/** Timeout for tests that start databases: the shared 2-core machine can be slow. */
export const SLOW = 120_000;
