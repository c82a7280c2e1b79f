import { Elysia } from "elysia";
import { securityPlugin } from "/work/main/gateway/src/security/plugin.ts";
import { test, expect } from "bun:test";
test("x", async () => {
  const sub = new Elysia().get("/a", ({ requestId }) => ({ requestId })).get("/r", () => new Response("hi", {headers: {"x-foo": "1"}})).get("/s", ({ status }) => status(403, { error: "x" }));
  const app = new Elysia().use(securityPlugin({ corsOrigins: ["http://ok.test"], maxBodyBytes: 10 })).use(sub);
  for (const p of ["/a", "/r", "/s", "/nope"]) {
    const r = await app.handle(new Request("http://localhost" + p, { headers: { "x-request-id": "abc-123" } }));
    console.log(p, r.status, r.headers.get("x-request-id"), r.headers.get("x-frame-options"), await r.text());
  }
  const big = await app.handle(new Request("http://localhost/a", { method: "POST", body: "x".repeat(100), headers: {"content-type": "text/plain"} }));
  console.log(big.status, await big.text(), big.headers.get("x-request-id"));
  const bad = await app.handle(new Request("http://localhost/a", { headers: {origin: "http://evil.test"} }));
  console.log(bad.status, await bad.text());
  const pre = await app.handle(new Request("http://localhost/a", { method: "OPTIONS", headers: {origin: "http://ok.test", "access-control-request-method": "POST"} }));
  console.log(pre.status, [...pre.headers]);
});
