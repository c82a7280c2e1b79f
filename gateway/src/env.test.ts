import { expect, test } from "bun:test";
import { databaseOptions, readEnv } from "./env.ts";

test("defaults", () => {
  const env = readEnv({});
  expect(env.PORT).toBe(37373);
  expect(env.HOST).toBe("127.0.0.1");
  expect(env.OMNI_DEV_MODE).toBe(false);
  expect(env.ALLOWED_HOSTS).toEqual([]);
  expect(env.MCP_PAGE_SIZE).toBe(100);
});

test("values are parsed and invalid ones named", () => {
  const env = readEnv({ PORT: "0", OMNI_DEV_MODE: "1", ALLOWED_HOSTS: "a.example, b.example" });
  expect(env.PORT).toBe(0);
  expect(env.OMNI_DEV_MODE).toBe(true);
  expect(env.ALLOWED_HOSTS).toEqual(["a.example", "b.example"]);
  expect(() => readEnv({ PORT: "abc", OMNI_DEV_MODE: "yes" })).toThrow(/PORT[\s\S]*OMNI_DEV_MODE/);
});

test("REDIS_URL: blank means unset; the connect timeout is a number", () => {
  expect(readEnv({ REDIS_URL: "  " }).REDIS_URL).toBeUndefined();
  expect(readEnv({ REDIS_URL: "redis://127.0.0.1:6379" }).REDIS_URL).toBe("redis://127.0.0.1:6379");
  expect(readEnv({}).REDIS_CONNECT_TIMEOUT_MS).toBe(5000);
  expect(() => readEnv({ REDIS_CONNECT_TIMEOUT_MS: "soon" })).toThrow(/REDIS_CONNECT_TIMEOUT_MS/);
});

test("the prefixes of the config cache and the auth module default to REDIS_PREFIX", () => {
  const shared = readEnv({ REDIS_PREFIX: "tenant1:" });
  expect(shared.CONFIG_CACHE_PREFIX).toBe("tenant1:");
  expect(shared.AUTH_REDIS_PREFIX).toBe("tenant1:");
  const own = readEnv({ REDIS_PREFIX: "tenant1:", CONFIG_CACHE_PREFIX: "cfg:", AUTH_REDIS_PREFIX: "auth:" });
  expect([own.CONFIG_CACHE_PREFIX, own.AUTH_REDIS_PREFIX]).toEqual(["cfg:", "auth:"]);
  expect(readEnv({}).AUTH_REDIS_PREFIX).toBe("omni:");
});

test("auth, cache, log and database settings are parsed with the gateway's", () => {
  const env = readEnv({
    RATE_LIMIT_PER_KEY: "5",
    CORS_ORIGINS: "https://app.example",
    CONFIG_CACHE_SIZE: "10",
    LOG_LEVEL: "warn",
    DATABASE_URL: " postgres://127.0.0.1/omni ",
    DATABASE_READ_URLS: "postgres://127.0.0.1:6001/omni, postgres://127.0.0.1:6002/omni",
  });
  expect(env.RATE_LIMIT_PER_KEY).toBe(5);
  expect(env.CORS_ORIGINS).toEqual(["https://app.example"]);
  expect(env.CONFIG_CACHE_SIZE).toBe(10);
  expect(env.LOG_LEVEL).toBe("warn");
  expect(env.DATABASE_URL).toBe("postgres://127.0.0.1/omni");
  expect(env.DATABASE_READ_URLS).toEqual([
    "postgres://127.0.0.1:6001/omni",
    "postgres://127.0.0.1:6002/omni",
  ]);
  const defaults = readEnv({});
  expect(defaults.RATE_LIMIT_PER_ORG).toBe(3000);
  expect(defaults.CONFIG_CACHE_TTL_MS).toBe(60_000);
  expect(defaults.LOG_LEVEL).toBe("info");
  expect(defaults.DATABASE_READ_URLS).toEqual([]);
  expect(defaults.DATABASE_URL).toBeUndefined();
});

test("blank numbers take their default; bad ones are named, several at once", () => {
  expect(readEnv({ CONFIG_CACHE_SIZE: "", MCP_PAGE_SIZE: " " }).CONFIG_CACHE_SIZE).toBe(1000);
  let message = "";
  try {
    readEnv({ LOG_LEVEL: "loud", CONFIG_CACHE_TTL_MS: "-1", RATE_LIMIT_WINDOW_SECONDS: "1.5" });
  } catch (error) {
    message = (error as Error).message;
  }
  for (const name of ["LOG_LEVEL", "CONFIG_CACHE_TTL_MS", "RATE_LIMIT_WINDOW_SECONDS"])
    expect(message).toContain(name);
});

test("key material is passed through as text, only the variables the key loaders read", () => {
  const env = readEnv({
    OMNI_SECRET_KEY: "k1",
    OMNI_STATE_KEY: "s1",
    NODE_ENV: "production",
    UNRELATED: "x",
  });
  expect(env.keys).toEqual({ OMNI_SECRET_KEY: "k1", OMNI_STATE_KEY: "s1", NODE_ENV: "production" });
});

test("databaseOptions: Postgres URL, else PGlite under OMNI_DATA_DIR, else the default", () => {
  expect(
    databaseOptions(readEnv({ DATABASE_URL: "postgres://127.0.0.1/omni", OMNI_DATA_DIR: "/tmp/x" })),
  ).toEqual({
    url: "postgres://127.0.0.1/omni",
  });
  expect(databaseOptions(readEnv({ OMNI_DATA_DIR: "/tmp/x" }))).toEqual({ dataDir: "/tmp/x/pglite" });
  expect(databaseOptions(readEnv({}))).toEqual({});
});

test("databaseOptions: read replicas come with a Postgres primary", () => {
  expect(
    databaseOptions(readEnv({ DATABASE_URL: "postgres://p/omni", DATABASE_READ_URLS: "postgres://r1/omni" })),
  ).toEqual({ url: "postgres://p/omni", readUrls: ["postgres://r1/omni"], replicaCheckMs: 2000 });
  expect(() => readEnv({ DATABASE_READ_CHECK_MS: "10" })).toThrow(/DATABASE_READ_CHECK_MS/);
});
