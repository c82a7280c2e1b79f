import { expect, test } from "bun:test";
import { readEnv } from "./env.ts";

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
