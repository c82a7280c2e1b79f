import type {
  GetPromptResult,
  OrgContext,
  PromptTemplate,
  ReadResourceResult,
  ServiceConfig,
} from "@omni/contracts";
import type { Database } from "@omni/db";
import {
  matchingValues,
  PromptArgumentError,
  PromptTemplateError,
  promptDescriptor,
  renderPrompt,
} from "@omni/kit";
import type { Redis } from "ioredis";
import type { KeyEnv } from "../env.ts";
import { configCache as configCacheMetric } from "../observability/metrics.ts";
import { type ConfigChange, ConfigError, type ConfigService, type OrgCatalog } from "../ports.ts";
import { createLogger } from "../security/log.ts";
import { type CacheLogger, type CacheOptions, type CacheStats, ConfigCache, DEFAULT_CACHE } from "./cache.ts";
import { type MergedCatalog, mergeCatalog } from "./merge.ts";
import { decodePolicy, loadPolicy } from "./policy.ts";
import { loadSecretKeys, SecretBox, SecretError, type SecretKey } from "./secrets.ts";
import {
  decodeMemberCredentials,
  decodeSnapshot,
  loadMemberCredentials,
  loadSnapshot,
  type OrgSnapshot,
} from "./store.ts";

export interface ConfigLogger extends CacheLogger {
  error(message: string, ...details: unknown[]): void;
}

export interface ConfigServiceDeps {
  db: Database;
  /** Enables L2 and cross-replica invalidation (pub/sub uses a duplicate connection). */
  redis?: Redis;
  /** Current key first; default: loaded from `keys`. */
  secretKeys?: SecretKey[];
  /**
   * Key material (`GatewayEnv.keys`: `OMNI_SECRET_KEY`, `OMNI_SECRET_KEY_PREVIOUS`, ...) when `secretKeys`
   * is not given. Default: none set (the development key in `.data/`).
   */
  keys?: KeyEnv;
  /** Default: `DEFAULT_CACHE`; the gateway passes `CONFIG_CACHE_SIZE`, `CONFIG_CACHE_TTL_MS`, `CONFIG_CACHE_L2_TTL_MS`, `CONFIG_CACHE_PREFIX`. */
  cache?: Partial<CacheOptions>;
  logger?: ConfigLogger;
}

/** The config service plus what the admin API, the rotation CLI and the benchmark need. */
export interface ConfigServiceImpl extends ConfigService {
  /** Resolves once cross-replica invalidation is subscribed (immediately without Redis). */
  readonly ready: Promise<void>;
  readonly secrets: SecretBox;
  /** Call after a committed write: drops the org from every cache layer and every replica, fires onChange. */
  invalidate(change: ConfigChange): Promise<void>;
  /** The merged catalogue with each item's source (admin listing and preview). */
  merged(orgId: string, codePrompts: ReadonlyMap<string, PromptTemplate[]>): Promise<MergedCatalog>;
  cacheStats(): CacheStats;
  /** Empties this instance's L1 (benchmarks). */
  dropLocalCache(): void;
}

function byteLength(content: { text: string } | { blob: string }): number {
  return "text" in content
    ? Buffer.byteLength(content.text, "utf8")
    : Buffer.from(content.blob, "base64").length;
}

export function createConfigService(deps: ConfigServiceDeps): ConfigServiceImpl {
  const logger: ConfigLogger = deps.logger ?? createLogger();
  const options: CacheOptions = { ...DEFAULT_CACHE, ...deps.cache };
  const secrets = new SecretBox(deps.secretKeys ?? loadSecretKeys(deps.keys ?? {}, { logger }));
  const listeners = new Set<(change: ConfigChange) => void>();
  const emit = (change: ConfigChange) => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        logger.error("config: onChange listener failed", error);
      }
    }
  };
  const cache = new ConfigCache(options, deps.redis, emit, logger);
  // The cache's counters, read at scrape time (omni_config_cache_requests_total).
  const untrack = configCacheMetric.track({ stats: () => cache.stats(), redis: deps.redis !== undefined });
  const ready = cache.start();
  // Avoid an unhandled rejection when nobody awaits `ready`; callers that do still see the failure.
  ready.catch((error: unknown) => logger.error("config: Redis subscription failed", error));

  const snapshot = (orgId: string): Promise<OrgSnapshot> =>
    cache.get(orgId, "snapshot", () => loadSnapshot(deps.db, orgId), decodeSnapshot);

  const memo = new WeakMap<OrgSnapshot, WeakMap<ReadonlyMap<string, PromptTemplate[]>, MergedCatalog>>();
  const noCodePrompts: ReadonlyMap<string, PromptTemplate[]> = new Map();
  async function merged(
    orgId: string,
    codePrompts: ReadonlyMap<string, PromptTemplate[]>,
  ): Promise<MergedCatalog> {
    const snap = await snapshot(orgId);
    let byCode = memo.get(snap);
    if (!byCode) {
      byCode = new WeakMap();
      memo.set(snap, byCode);
    }
    let result = byCode.get(codePrompts);
    if (!result) {
      result = mergeCatalog(snap, codePrompts);
      byCode.set(codePrompts, result);
    }
    return result;
  }

  async function prompt(orgId: string, name: string, codePrompts: ReadonlyMap<string, PromptTemplate[]>) {
    const found = (await merged(orgId, codePrompts)).prompts.get(name);
    if (!found) throw new ConfigError(-32602, `unknown prompt "${name}"`, { prompt: name });
    return found.template;
  }

  function decrypt(
    envelopes: Record<string, Parameters<SecretBox["decrypt"]>[0]>,
    scope: { orgId: string; server: string; userId?: string | null },
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, envelope] of Object.entries(envelopes)) {
      try {
        out[name] = secrets.decrypt(envelope, { ...scope, name });
      } catch (error) {
        const reason = error instanceof SecretError ? error.message : "decryption failed";
        logger.error(`config: cannot decrypt a secret of ${scope.server} for org ${scope.orgId}: ${reason}`);
        throw new ConfigError(
          -32603,
          `the stored credential "${name}" for ${scope.server} cannot be read; set it again in the admin`,
        );
      }
    }
    return out;
  }

  return {
    ready,
    secrets,
    merged,

    async catalog(orgId, codePrompts): Promise<OrgCatalog> {
      const m = await merged(orgId, codePrompts);
      return {
        orgId,
        enabledServers: m.enabledServers,
        prompts: [...m.prompts.values()].map(({ server, template }) => ({
          server,
          ...promptDescriptor(template),
        })),
        resources: [...m.resources.values()].map((r) => ({
          server: r.server,
          uri: r.uri,
          name: r.name,
          ...(r.title === undefined ? {} : { title: r.title }),
          ...(r.description === undefined ? {} : { description: r.description }),
          ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }),
          size: byteLength(r.content),
        })),
        ttlMs: options.ttlMs,
      };
    },

    async getPrompt(orgId, name, args, codePrompts): Promise<GetPromptResult> {
      const template = await prompt(orgId, name, codePrompts);
      try {
        return renderPrompt(template, args);
      } catch (error) {
        // Keep the renderer's JSON-RPC code (-32602 bad arguments, -32603 broken template) and data.
        if (error instanceof PromptArgumentError)
          throw new ConfigError(error.code, error.message, error.data);
        if (error instanceof PromptTemplateError) throw new ConfigError(error.code, error.message);
        throw error;
      }
    },

    async completePromptArgument(orgId, promptName, argumentName, value, codePrompts): Promise<string[]> {
      const template = await prompt(orgId, promptName, codePrompts);
      const argument = template.arguments?.find((a) => a.name === argumentName);
      if (!argument) {
        throw new ConfigError(-32602, `prompt "${promptName}" has no argument "${argumentName}"`, {
          argument: argumentName,
        });
      }
      return matchingValues(argument, value);
    },

    async readResource(orgId, uri): Promise<ReadResourceResult | null> {
      const resource = (await merged(orgId, noCodePrompts)).resources.get(uri);
      if (!resource) return null;
      return {
        contents: [
          {
            uri: resource.uri,
            ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }),
            ...resource.content,
          },
        ],
      };
    },

    async serviceConfig(org: OrgContext, server: string): Promise<ServiceConfig> {
      const snap = await snapshot(org.orgId);
      const service = snap.servers.find((s) => s.name === server);
      if (!service) return { settings: {}, credentials: {} };
      const credentials = decrypt(service.secrets, { orgId: org.orgId, server });
      if (org.userId) {
        const userId = org.userId;
        const own = await cache.get(
          org.orgId,
          `credentials:${userId}`,
          () => loadMemberCredentials(deps.db, org.orgId, userId),
          decodeMemberCredentials,
        );
        Object.assign(
          credentials,
          decrypt(own[service.serverId] ?? {}, { orgId: org.orgId, server, userId }),
        );
      }
      return { settings: service.settings, credentials };
    },

    policy: (orgId) => cache.get(orgId, "policy", () => loadPolicy(deps.db, orgId), decodePolicy),

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async invalidate(change) {
      try {
        await cache.invalidate(change);
      } catch (error) {
        // This replica's L1 is already dropped; others catch up within CONFIG_CACHE_TTL_MS.
        logger.error("config: publishing an invalidation to Redis failed", error);
      }
      emit(change);
    },

    cacheStats: () => cache.stats(),
    dropLocalCache: () => cache.clearLocal(),

    async close() {
      untrack();
      listeners.clear();
      await cache.close();
    },
  };
}
