import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { createLogger } from "./log.ts";
import { securityPlugin } from "./plugin.ts";

function makeApp(lines: string[] = []) {
  const logger = createLogger({ level: "debug", sink: (line) => lines.push(line) });
  return new Elysia()
    .use(securityPlugin({ corsOrigins: ["https://admin.example"], maxBodyBytes: 64, logger }))
    .get("/hello", ({ requestId }) => ({ requestId }))
    .post("/echo", ({ body }) => ({ body }))
    .get("/denied", ({ status }) => status(403, { error: "forbidden", message: "no" }));
}

const req = (path: string, init: RequestInit = {}) => new Request(`http://gw.test${path}`, init);

describe("security plugin", () => {
  test("every response carries a request id: a valid incoming one is honoured, others replaced", async () => {
    const app = makeApp();
    const honoured = await app.handle(req("/hello", { headers: { "x-request-id": "abc-123.4" } }));
    expect(honoured.headers.get("x-request-id")).toBe("abc-123.4");
    expect(await honoured.json()).toEqual({ requestId: "abc-123.4" });
    const replaced = await app.handle(req("/hello", { headers: { "x-request-id": "bad id <script>" } }));
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    for (const path of ["/denied", "/missing"]) {
      const res = await app.handle(req(path));
      expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  test("CORS: allow-listed origins get CORS headers and preflights; others can read nothing", async () => {
    const app = makeApp();
    const ok = await app.handle(req("/hello", { headers: { origin: "https://admin.example" } }));
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://admin.example");
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-request-id");
    const preflight = await app.handle(
      req("/echo", {
        method: "OPTIONS",
        headers: { origin: "https://admin.example", "access-control-request-method": "POST" },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    // Reaching the gateway is the DNS-rebinding guard's decision; CORS only withholds the read permission.
    const evil = await app.handle(req("/hello", { headers: { origin: "https://evil.example" } }));
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const evilPreflight = await app.handle(
      req("/echo", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      }),
    );
    expect(evilPreflight.status).toBe(403);
    expect(evilPreflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(await evilPreflight.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
    const same = await app.handle(req("/hello", { headers: { origin: "http://gw.test" } }));
    expect(same.status).toBe(200);
  });

  test("bodies over MAX_BODY_BYTES are 413 with a JSON body (declared or chunked)", async () => {
    const app = makeApp();
    const body = JSON.stringify({ text: "x".repeat(100) });
    const declared = await app.handle(
      req("/echo", {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "content-length": String(body.length) },
      }),
    );
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: "payload_too_large" } });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("y".repeat(20)));
        controller.close();
      },
    });
    const chunked = await app.handle(
      req("/echo", { method: "POST", body: stream, headers: { "content-type": "text/plain" } }),
    );
    expect(chunked.status).toBe(413);
    const small = await app.handle(
      req("/echo", { method: "POST", body: '{"a":1}', headers: { "content-type": "application/json" } }),
    );
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ body: { a: 1 } });
  });

  test("one structured log line per request, carrying the request id", async () => {
    const lines: string[] = [];
    const app = makeApp(lines);
    await app.handle(req("/hello", { headers: { "x-request-id": "log-me" } }));
    await Bun.sleep(0);
    const record = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === "log-me");
    expect(record).toMatchObject({
      level: "info",
      msg: "request",
      method: "GET",
      path: "/hello",
      status: 200,
    });
  });

  test("a failing access log never fails the request: the failure is logged with the request id", async () => {
    const errors: Record<string, unknown>[] = [];
    const logger = {
      info: () => {
        throw new Error("log sink is full");
      },
      error: (msg: string, detail?: unknown) => errors.push({ msg, ...(detail as Record<string, unknown>) }),
    };
    const app = new Elysia().use(securityPlugin({ logger })).get("/hello", () => "hi");
    const res = await app.handle(req("/hello", { headers: { "x-request-id": "hook-1" } }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hi");
    await Bun.sleep(0);
    expect(errors).toContainEqual(
      expect.objectContaining({ msg: "[security] access log failed", requestId: "hook-1" }),
    );
  });

  test("an unexpected error is a 500 carrying only the request id; its cause is logged, not sent", async () => {
    const lines: string[] = [];
    const app = new Elysia()
      .use(securityPlugin({ logger: createLogger({ level: "debug", sink: (line) => lines.push(line) }) }))
      .get("/boom", () => {
        throw new Error('select "secret" from "api_keys" where "id" = $1 at /work/app/src/db.ts:12');
      });
    const res = await app.handle(req("/boom", { headers: { "x-request-id": "boom-1" } }));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: {
        code: "internal",
        message: "Internal error; quote request id boom-1 when reporting it.",
        details: { requestId: "boom-1" },
      },
    });
    expect(text).not.toMatch(/select|api_keys|\/work|\.ts/);
    expect(lines.some((l) => l.includes("boom-1") && l.includes("api_keys"))).toBe(true);
  });
});
