import { ToolCallRequest } from "@omni/contracts";
import { Elysia } from "elysia";
import * as v from "valibot";
const scope = { org: { orgId: "o", userId: null, role: "owner" as const, permissions: [], via: "dev" as const, requestId: "r" }, config: { settings: {}, credentials: {} }, sessionKey: "s" };
const obj = { name: "echo", arguments: { text: "hi" }, scope, live: false };
const body = JSON.stringify(obj);
const resp = () => new Response(JSON.stringify({ type: "result", result: { content: [{ type: "text", text: "hi" }] } }), { headers: { "content-type": "application/json" } });
const a1 = new Elysia().post("/rpc/tools/call", ({ body }) => resp());
const a2 = new Elysia().post("/rpc/tools/call", ({ body }) => resp(), { body: ToolCallRequest });
const a3 = new Elysia().post("/rpc/tools/call", ({ body }) => { v.parse(ToolCallRequest, body); return resp(); });
const mk = () => new Request("http://localhost/rpc/tools/call", { method: "POST", body, headers: { "content-type": "application/json" } });
async function loop(label: string, h: (r: Request) => Promise<Response> | Response, n = 30000) {
  for (let i = 0; i < 2000; i++) await (await h(mk())).text();
  const t = performance.now();
  for (let i = 0; i < n; i++) await (await h(mk())).text();
  console.log(label, (((performance.now() - t) * 1000) / n).toFixed(2), "µs/call");
}
let t = performance.now(); for (let i = 0; i < 100000; i++) v.parse(ToolCallRequest, obj); console.log("valibot parse", ((performance.now()-t)*1000/100000).toFixed(2), "µs");
for (let k = 0; k < 2; k++) { await loop("elysia-noschema", (r) => a1.handle(r)); await loop("elysia-schema", (r) => a2.handle(r)); await loop("elysia-manual", (r) => a3.handle(r)); }
