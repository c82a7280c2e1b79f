import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { HAPROXY } from "./fixtures/haproxy.ts";

/**
 * The Docker layout of issue 16 (no Docker here): compose.yaml has two gateway replicas with the same
 * settings behind HAProxy, whose checked-in configuration (deploy/haproxy.cfg) balances round robin over
 * exactly those services with health checks on /ready, and is valid for the real HAProxy.
 */

const root = join(import.meta.dir, "../..");

interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  stop_grace_period?: string;
}

const compose = parse(readFileSync(join(root, "compose.yaml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const cfgPath = join(root, "deploy/haproxy.cfg");
const cfg = readFileSync(cfgPath, "utf8");

test("compose.yaml: two identical gateway replicas, only HAProxy published on 37373", () => {
  const gateways = Object.entries(compose.services).filter(([, s]) =>
    s.command?.includes("gateway/src/index.ts"),
  );
  expect(gateways.map(([name]) => name).sort()).toEqual(["gateway-a", "gateway-b"]);
  const [a, b] = [compose.services["gateway-a"]!, compose.services["gateway-b"]!];
  expect(b).toEqual(a);
  expect(a.ports).toBeUndefined();
  expect(a.environment?.REDIS_URL).toBe("redis://redis:6379");
  expect(a.depends_on).toHaveProperty("redis");
  expect(a.depends_on).toHaveProperty("postgres");
  // Drain before Docker's SIGKILL: the grace period exceeds the drain timeout's default (30 s).
  expect(Number.parseInt(a.stop_grace_period ?? "0", 10)).toBeGreaterThan(30);
  const haproxy = compose.services.haproxy!;
  expect(haproxy.image).toStartWith("haproxy:");
  expect(haproxy.ports).toEqual(["37373:37373"]);
  expect(haproxy.volumes).toContain("./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
  expect(Object.keys(haproxy.depends_on ?? {}).sort()).toEqual(["gateway-a", "gateway-b"]);
  const published = Object.entries(compose.services).filter(([, s]) => s.ports?.length);
  expect(published.map(([name]) => name)).toEqual(["haproxy"]);
});

test("deploy/haproxy.cfg: round robin over the compose replicas, checks on /ready, valid for HAProxy", async () => {
  const port = compose.services["gateway-a"]!.environment!.PORT;
  const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+) .*\bcheck\b/gm)].map((m) => [m[1], m[2]]);
  expect(servers).toEqual([
    ["gateway-a", `gateway-a:${port}`],
    ["gateway-b", `gateway-b:${port}`],
  ]);
  expect(cfg).toMatch(/^\s*balance roundrobin$/m);
  expect(cfg).toMatch(/^\s*http-check send meth GET uri \/ready\b/m);
  expect(cfg).toMatch(/^\s*http-check expect status 200$/m);
  expect(cfg).toMatch(/^\s*bind :37373$/m);
  const check = Bun.spawn([HAPROXY, "-c", "-f", cfgPath], { stdout: "pipe", stderr: "pipe" });
  const output = (await new Response(check.stdout).text()) + (await new Response(check.stderr).text());
  expect(await check.exited, output).toBe(0);
  expect(output).toContain("Configuration file is valid");
});
