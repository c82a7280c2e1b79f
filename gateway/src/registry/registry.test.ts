import { expect, test } from "bun:test";
import { parseServersEnv, templatePattern } from "./index.ts";

test("SERVERS parses name=url pairs, repeated names are replicas", () => {
  expect(
    parseServersEnv("linear=http://127.0.0.1:3001/, linear=http://127.0.0.1:4001,perplexity=http://h:3002"),
  ).toEqual([
    { server: "linear", url: "http://127.0.0.1:3001" },
    { server: "linear", url: "http://127.0.0.1:4001" },
    { server: "perplexity", url: "http://h:3002" },
  ]);
  expect(parseServersEnv(undefined)).toEqual([]);
  expect(parseServersEnv("  ")).toEqual([]);
  expect(() => parseServersEnv("linear")).toThrow(/name=url/);
  expect(() => parseServersEnv("Bad Name=http://x")).toThrow(/name=url/);
  expect(() => parseServersEnv("linear=not a url")).toThrow(/name=url/);
});

test("resource templates match URIs segment by segment", () => {
  const pattern = templatePattern("test://template/{id}/data");
  expect(pattern.test("test://template/123/data")).toBe(true);
  expect(pattern.test("test://template/1/2/data")).toBe(false);
  expect(pattern.test("test://templateX123/data")).toBe(false);
  expect(templatePattern("a.b://{x}").test("a.b://y")).toBe(true);
  expect(templatePattern("a.b://{x}").test("aXb://y")).toBe(false);
});
