import * as v from "valibot";
import { createServerApp, createServerClient, defineTool } from "./src/index.ts";
const app = createServerApp({ name: "b", version: "1", tools: [defineTool({ name: "echo", description: "e", input: v.object({ text: v.string() }), handler: (a) => a.text })] }).listen({ port: 0, hostname: "127.0.0.1" });
const bare = Bun.serve({ port: 0, hostname: "127.0.0.1", async fetch(req) { const b = await req.json() as {arguments:{text:string}}; return new Response(JSON.stringify({ type: "result", result: { content: [{ type: "text", text: b.arguments.text }] } }), { headers: { "content-type": "application/json" } }); } });
const scope = { org: { orgId: "o", userId: null, role: "owner" as const, permissions: [], via: "dev" as const, requestId: "r" }, config: { settings: {}, credentials: {} }, sessionKey: "s" };
const body = { name: "echo", arguments: { text: "hi" }, scope, live: false };
async function run(label: string, fn: () => Promise<unknown>, conc: number, ms = 2000) {
  let n = 0; const end = performance.now() + ms;
  await Promise.all(Array.from({ length: conc }, async () => { while (performance.now() < end) { await fn(); n++; } }));
  console.log(label, conc, Math.round(n / (ms / 1000)), "req/s");
}
const kit = createServerClient(`http://127.0.0.1:${app.server!.port}`);
const bareUrl = `http://127.0.0.1:${bare.port}/`;
const bareCall = () => fetch(bareUrl, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }).then(r => r.json());
const kitUrl = `http://127.0.0.1:${app.server!.port}/rpc/tools/call`;
const rawKit = () => fetch(kitUrl, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }).then(r => r.json());
const reqKit = () => fetch(new Request(bareUrl, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } })).then(r => r.json());
for (const c of [1, 16]) {
  await run("bare", bareCall, c);
  await run("bare-Request", reqKit, c);
  await run("kit-raw", rawKit, c);
  await run("kit ", () => kit.callTool(body), c);
}
app.stop(true); bare.stop(true);
