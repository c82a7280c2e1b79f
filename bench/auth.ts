/**
 * `bun bench/auth.ts`: what authenticating one MCP request costs, per credential, through the real
 * authenticator (warm caches, in process, PGlite in memory, no Redis): an API key, a Clerk session token
 * (`@clerk/backend`, networkless) and an OAuth access token (`jose`, networkless, audience-bound). No
 * network at all; bounded (BENCH_AUTH_N requests per credential, default 5000).
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { createRepositories, createTestDatabase } from "../db/src/index.ts";
import { createApiKey } from "../gateway/src/auth/api-keys.ts";
import { createAuthModule, readAuthEnv } from "../gateway/src/auth/index.ts";

const N = Number(process.env.BENCH_AUTH_N ?? 5000);
const ISSUER = "https://clerk.bench.test";
const ORIGIN = "http://127.0.0.1:37373";

const handle = await createTestDatabase("pglite");
if (!handle) throw new Error("PGlite did not start");
const repos = createRepositories(handle.db);
const org = await repos.organizations.create({ slug: "bench", name: "Bench", clerkId: "org_bench" });
const user = await repos.users.create({ email: "b@bench.test", clerkId: "user_bench" });
await repos.memberships.add(org.id, { userId: user.id, role: "member" });
const apiKey = (await createApiKey(repos, org.id, null, { name: "bench", scopes: ["tools:call"] })).secret;

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
function jwt(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const head = b64({ alg: "RS256", kid: "ins_bench", ...header });
  const body = b64(payload);
  return `${head}.${body}.${sign("sha256", Buffer.from(`${head}.${body}`), privateKey).toString("base64url")}`;
}
const now = Math.floor(Date.now() / 1000);
const times = { iat: now - 5, nbf: now - 5, exp: now + 3600 };
const session = jwt(
  { typ: "JWT" },
  {
    sub: "user_bench",
    sid: "sess_bench",
    iss: ISSUER,
    org_id: "org_bench",
    org_role: "org:member",
    ...times,
  },
);
const oauth = jwt(
  { typ: "at+jwt" },
  { sub: "user_bench", iss: ISSUER, aud: `${ORIGIN}/mcp`, client_id: "client_bench", scp: [], ...times },
);

const auth = createAuthModule({
  db: handle.db,
  env: readAuthEnv({
    CLERK_JWT_KEY: publicKey.export({ type: "spki", format: "pem" }).toString(),
    CLERK_ISSUER: ISSUER,
  }),
  logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
});
const remote = { loopback: true, mcp: { origin: ORIGIN } };

async function measure(name: string, token: string) {
  const headers = new Headers({ authorization: `Bearer ${token}` });
  const first = await auth.authenticator.authenticate(headers, remote);
  if (!first.ok) throw new Error(`${name}: ${first.reason} ${first.message}`);
  for (let i = 0; i < 200; i++) await auth.authenticator.authenticate(headers, remote);
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await auth.authenticator.authenticate(headers, remote);
    samples.push(performance.now() - t);
  }
  const total = performance.now() - started;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return {
    credential: name,
    "req/s": Math.round((N / total) * 1000),
    "p50 µs": Math.round(at(0.5) * 1000),
    "p99 µs": Math.round(at(0.99) * 1000),
  };
}

const rows = [
  await measure("API key (omni_sk_)", apiKey),
  await measure("Clerk session token", session),
  await measure("OAuth access token (at+jwt)", oauth),
];
console.log(`authenticate() per credential, ${N} sequential requests each, warm caches, one process:`);
console.table(rows);
await handle.close();
