import type { Repositories, SecretEnvelopes } from "@omni/db";
import type { SecretBox } from "./secrets.ts";

/**
 * The one path by which secrets are written: an organization's service secrets (shared by its members)
 * and a member's own credentials are the same operation on two kinds of row. Values are encrypted with
 * the config service's `SecretBox` under a scope naming their owner (org, server, member, name), so an
 * envelope copied to another row fails to decrypt; reading them back is `ConfigService`'s `decrypt`.
 */
export interface SecretOwner {
  orgId: string;
  server: { id: string; name: string };
  /** Set: the member's own credential; unset: the organization's service secret. */
  userId?: string;
}

/** The secrets row of an owner: read its envelopes, write them back (or drop the row when it has none left). */
function rowOf(tx: Repositories, owner: SecretOwner) {
  const { orgId, server, userId } = owner;
  if (userId === undefined) {
    return {
      read: async () => (await tx.services.get(orgId, server.id))?.secrets,
      write: async (secrets: SecretEnvelopes, existed: boolean) => {
        if (existed) await tx.services.update(orgId, server.id, { secrets });
        else await tx.services.create(orgId, server.id, { enabled: false, secrets });
      },
    };
  }
  return {
    read: async () => (await tx.credentials.get(orgId, userId, server.id))?.secrets,
    write: async (secrets: SecretEnvelopes) => {
      if (Object.keys(secrets).length === 0) await tx.credentials.remove(orgId, userId, server.id);
      else await tx.credentials.upsert(orgId, userId, server.id, secrets);
    },
  };
}

/**
 * Sets (`value`) or clears (`null`) the secret `name` of `owner`, inside the caller's transaction.
 * Returns false, writing nothing, when asked to clear a secret that is not set.
 */
export async function writeSecret(
  tx: Repositories,
  box: SecretBox,
  owner: SecretOwner,
  name: string,
  value: string | null,
): Promise<boolean> {
  const row = rowOf(tx, owner);
  const current = await row.read();
  const secrets: SecretEnvelopes = { ...(current ?? {}) };
  if (value === null) {
    if (!(name in secrets)) return false;
    delete secrets[name];
  } else {
    secrets[name] = box.encrypt(value, {
      orgId: owner.orgId,
      server: owner.server.name,
      name,
      ...(owner.userId === undefined ? {} : { userId: owner.userId }),
    });
  }
  await row.write(secrets, current !== undefined);
  return true;
}
