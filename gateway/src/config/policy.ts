import { OrgPolicy } from "@omni/contracts";
import type { Database } from "@omni/db";
import * as v from "valibot";

/**
 * An organization's tool policies and bundles as loaded from Postgres and cached by the config service
 * (field `policy` of the org's L1/L2 entry, invalidated with the rest of the org's configuration).
 * JSON-serialisable; validated by `decodePolicy` when read back from Redis.
 */

export function decodePolicy(raw: unknown): OrgPolicy | undefined {
  const result = v.safeParse(OrgPolicy, raw);
  return result.success ? result.output : undefined;
}

/** Loads an org's policies and bundles (two indexed statements). */
export async function loadPolicy(db: Database, orgId: string): Promise<OrgPolicy> {
  const [policies, bundles] = await Promise.all([
    db.query.toolPolicies.findMany({
      where: (p, { eq }) => eq(p.organizationId, orgId),
      columns: { role: true, mode: true, tools: true, overrides: true },
    }),
    db.query.bundles.findMany({
      where: (b, { eq }) => eq(b.organizationId, orgId),
      columns: { slug: true, tools: true, prompts: true, resources: true, discovery: true },
    }),
  ]);
  // JSON round trip so L1, L2 and fresh loads hand out the same shape (no undefined keys).
  return decodePolicy(JSON.parse(JSON.stringify({ policies, bundles })))!;
}
