import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createLinearServer, linearOptionsFromEnv } from "../src/server.ts";
import { linearHarness } from "./harness.ts";

let h: ReturnType<typeof linearHarness>;
beforeEach(() => {
  h = linearHarness();
});
afterEach(() => h.stop());

function json(response: Awaited<ReturnType<typeof h.read>>): unknown {
  if (!response.ok) throw new Error(`read failed: ${response.error.message}`);
  const content = response.result.contents[0];
  expect(content?.mimeType).toBe("application/json");
  return JSON.parse(content && "text" in content ? content.text : "null");
}

describe("dynamic resources", () => {
  test("linear://teams lists the teams", async () => {
    const teams = json(await h.read("linear://teams")) as { key: string }[];
    expect(teams.map((t) => t.key)).toEqual(["ENG", "DES"]);
  });

  test("linear://teams/{teamId}/issues lists a team's open issues, by key or name", async () => {
    const byKey = json(await h.read("linear://teams/ENG/issues")) as { identifier: string }[];
    expect(byKey.map((i) => i.identifier)).toEqual(["ENG-1", "ENG-2"]);
    const byName = json(await h.read("linear://teams/Design/issues")) as { identifier: string }[];
    expect(byName.map((i) => i.identifier)).toEqual(["DES-1"]);
  });

  test("linear://issues/{identifier} reads one issue", async () => {
    const issue = json(await h.read("linear://issues/ENG-1")) as { title: string; comments: unknown[] };
    expect(issue.title).toBe("Login fails with SSO");
    expect(issue.comments.length).toBe(1);
  });

  test("a failed read is an error response, not a crash", async () => {
    const missing = await h.read("linear://issues/ENG-1", null);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.error.message).toContain("LINEAR_API_KEY");
    const unknown = await h.read("linear://nothing");
    expect(unknown.ok).toBe(false);
  });
});

describe("configuration", () => {
  test("env: URL, timeout, retry cap and the standalone key", () => {
    const options = linearOptionsFromEnv({
      LINEAR_API_URL: "http://127.0.0.1:1/graphql",
      LINEAR_TIMEOUT_MS: "1500",
      LINEAR_MAX_RETRY_AFTER_MS: "2500",
      LINEAR_API_KEY: "lin_api_env",
    });
    expect(options).toEqual({
      apiUrl: "http://127.0.0.1:1/graphql",
      timeoutMs: 1500,
      maxRetryAfterMs: 2500,
      standaloneApiKey: "lin_api_env",
    });
    expect(() => linearOptionsFromEnv({ LINEAR_TIMEOUT_MS: "soon" })).toThrow("LINEAR_TIMEOUT_MS");
    expect(createLinearServer(options).standaloneConfig?.()).toEqual({
      settings: {},
      credentials: { apiKey: "lin_api_env" },
    });
    expect(createLinearServer({}).standaloneConfig?.()).toEqual({ settings: {}, credentials: {} });
  });

  test("health reports the configured endpoint", async () => {
    const report = await h.client.health();
    expect(report).toMatchObject({ status: "ok", server: "linear", details: { apiUrl: h.standIn.url } });
  });
});
