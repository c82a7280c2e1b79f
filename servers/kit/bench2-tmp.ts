import * as v from "valibot";
import { createServerApp, defineTool } from "./src/index.ts";
const app = createServerApp({ name: "b", version: "1", tools: [defineTool({ name: "echo", description: "e", input: v.object({ text: v.string() }), handler: (a) => a.text })] });
const scope = { org: { orgId: "o", userId: null, role: "owner" as const, permissions: [], via: "dev" as const, requestId: "r" }, config: { settings: {}, credentials: {} }, sessionKey: "s" };
const body = JSON.stringify({ name: "echo", arguments: { text: "hi" }, scope, live: false });
const bare = async (req: Request) => { const b = await req.json() as {arguments:{text:string}}; return new Response(JSON.stringify({ type: "result", result: { content: [{ type: "text", text: b.arguments.text }] } }), { headers: { "content-type": "application/json" } }); };
const mk = () => new Request("http://localhost/rpc/tools/call", { method: "POST", body, headers: { "content-type": "application/json" } });
async function loop(label: string, h: (r: Request) => Promise<Response> | Response, n = 50000) {
  for (let i = 0; i < 2000; i++) await (await h(mk())).text();
  const t = performance.now();
  for (let i = 0; i < n; i++) await (await h(mk())).text();
  const us = ((performance.now() - t) * 1000) / n;
  console.log(label, us.toFixed(2), "µs/call");
}
for (let k = 0; k < 3; k++) { await loop("bare", bare); await loop("kit ", (r) => app.handle(r)); }
