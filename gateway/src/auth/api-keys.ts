import { createHash, randomBytes } from "node:crypto";
import type { ApiKeyDto, CreateApiKeyInput } from "@omni/contracts";
import type { ApiKey, Repositories } from "@omni/db";

/**
 * API keys: `omni_sk_<8 chars>_<43 chars>`. The first part (`omni_sk_<8 chars>`) is the visible, unique
 * prefix; only the SHA-256 hex of the whole key is stored, and authentication looks the key up by it.
 */
const KEY_PATTERN = /^omni_sk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith("omni_sk_");
}

function generateKey(): { key: string; prefix: string } {
  let short = "";
  for (const byte of randomBytes(8)) short += ALPHABET[byte % ALPHABET.length];
  const prefix = `omni_sk_${short}`;
  return { key: `${prefix}_${randomBytes(32).toString("base64url")}`, prefix };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toApiKeyDto(row: ApiKey): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
  };
}

/** Creates a key; the returned `secret` is the only copy of the whole key. */
export async function createApiKey(
  repos: Repositories,
  orgId: string,
  createdBy: string | null,
  input: CreateApiKeyInput,
): Promise<{ row: ApiKey; secret: string }> {
  const { key, prefix } = generateKey();
  const row = await repos.apiKeys.create(orgId, {
    name: input.name,
    prefix,
    hash: hashApiKey(key),
    scopes: [...new Set(input.scopes)],
    expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
    createdBy,
  });
  return { row, secret: key };
}

/** Revokes a key of this org (idempotent); null when the org has no such key. */
export async function revokeApiKey(
  repos: Repositories,
  orgId: string,
  keyId: string,
): Promise<{ before: ApiKey; after: ApiKey } | null> {
  const before = await repos.apiKeys.get(orgId, keyId);
  if (!before) return null;
  if (before.revokedAt) return { before, after: before };
  const after = await repos.apiKeys.revoke(orgId, keyId);
  return { before, after: after ?? before };
}
