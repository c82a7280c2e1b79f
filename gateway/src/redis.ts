import type { RedisOptions } from "ioredis";
import type { GatewayEnv } from "./env.ts";

/**
 * ioredis options for a Sentinel-managed Redis (`REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`): the client asks
 * the sentinels for the current master and follows failovers. Credentials and the database number come
 * from `REDIS_URL` when it is also set (`redis://:password@ignored/2`).
 */
export function redisSentinelOptions(
  env: Pick<GatewayEnv, "REDIS_SENTINELS" | "REDIS_SENTINEL_NAME" | "REDIS_URL">,
): RedisOptions {
  const sentinels = env.REDIS_SENTINELS.map((entry) => {
    const at = entry.lastIndexOf(":");
    const port = at > 0 ? Number(entry.slice(at + 1)) : 26379;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`REDIS_SENTINELS: "${entry}" is not host:port`);
    }
    return { host: at > 0 ? entry.slice(0, at) : entry, port };
  });
  const options: RedisOptions = { sentinels, name: env.REDIS_SENTINEL_NAME };
  if (env.REDIS_URL) {
    const url = new URL(env.REDIS_URL);
    if (url.password) options.password = decodeURIComponent(url.password);
    if (url.username) options.username = decodeURIComponent(url.username);
    const db = Number(url.pathname.slice(1));
    if (url.pathname.length > 1 && Number.isInteger(db)) options.db = db;
  }
  return options;
}
