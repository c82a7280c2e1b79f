import { describe, expect, test } from "bun:test";
import {
  addressProblem,
  checkUrl,
  checkUrlResolved,
  compileGlob,
  DEFAULT_POLICY,
  decideHost,
  HostResolver,
  parsePolicySettings,
  type UrlPolicy,
} from "./policy.ts";

const open: UrlPolicy = DEFAULT_POLICY;
const privateOk: UrlPolicy = { ...DEFAULT_POLICY, allowPrivateNetwork: true };

/** Every spelling of a private destination the default policy must refuse (on the URL alone). */
const PRIVATE_URLS = [
  // loopback, in every IPv4 notation the WHATWG URL parser accepts
  "http://127.0.0.1/",
  "http://127.0.0.1.:9222/json/list",
  "http://127.1/",
  "http://127.0.1/",
  "http://2130706433/",
  "http://0x7f000001/",
  "http://0x7f.1/",
  "http://0x7F.0.0.1/",
  "http://0177.0.0.1/",
  "http://017700000001/",
  "http://%31%32%37.0.0.1/",
  "http://127.255.255.254/",
  "ws://127.0.0.1:9222/devtools/browser/x",
  "wss://127.0.0.1/",
  // loopback names
  "http://localhost/",
  "http://LOCALHOST:8080/",
  "http://localhost./",
  "http://localhost../",
  "http://a.b.localhost/",
  "http://evil.localhost./",
  "http://localhost.localdomain/",
  "http://ip6-localhost/",
  "http://ip6-loopback/",
  "http://localhost6/",
  // IPv6 loopback and unspecified
  "http://[::1]/",
  "http://[0:0:0:0:0:0:0:1]/",
  "http://[::]/",
  "http://0.0.0.0/",
  "http://0/",
  "http://0x0/",
  // RFC 1918
  "http://10.0.0.1/",
  "http://10.255.255.255/",
  "http://012.0.0.1/",
  "http://167772161/",
  "http://172.16.0.1/",
  "http://172.31.255.255/",
  "http://192.168.0.1/",
  "http://192.168.1.1./",
  "http://3232235777/",
  "http://0xc0.0xa8.1.1/",
  // link-local, metadata
  "http://169.254.0.1/",
  "http://169.254.169.254/latest/meta-data/",
  "http://2852039166/",
  "http://[fe80::1]/",
  "http://[febf::1]/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://METADATA.GOOGLE.INTERNAL./",
  "http://metadata/",
  "http://instance-data/",
  // CGNAT
  "http://100.64.0.1/",
  "http://100.127.255.254/",
  "http://100.100.100.200/",
  // unique-local, site-local
  "http://[fc00::1]/",
  "http://[fd12:3456::1]/",
  "http://[fd00:ec2::254]/",
  "http://[fec0::1]/",
  // IPv4-mapped / compatible / translated forms
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:7f00:1]/",
  "http://[0:0:0:0:0:ffff:7f00:1]/",
  "http://[::ffff:10.0.0.1]/",
  "http://[::ffff:169.254.169.254]/",
  "http://[::127.0.0.1]/",
  "http://[::a9fe:a9fe]/",
  "http://[64:ff9b::7f00:1]/",
  "http://[2002:7f00:1::]/",
  // multicast, broadcast, reserved
  "http://224.0.0.1/",
  "http://255.255.255.255/",
  "http://240.0.0.1/",
  "http://[ff02::1]/",
  // private-network names
  "http://printer.local/",
  "http://router.home.arpa/",
  "http://db.internal/",
  "http://host.localdomain/",
];

describe("URL policy", () => {
  test("dangerous schemes are always blocked, local ones allowed", () => {
    for (const url of [
      "file:///etc/passwd",
      "chrome://settings",
      "devtools://x",
      "chrome-extension://abc/x",
      "view-source:http://a",
    ]) {
      expect(checkUrl(open, url)).toContain("scheme");
    }
    for (const url of ["about:blank", "data:text/html,hi", "https://example.com/"])
      expect(checkUrl(open, url)).toBeNull();
    expect(checkUrl(open, "ftp://example.com/")).toContain("not allowed");
    expect(checkUrl(open, "not a url")).toContain("not an absolute URL");
  });

  test("every alias of a private, loopback or metadata destination is denied by default", () => {
    const allowed = PRIVATE_URLS.filter((url) => checkUrl(open, url) === null);
    expect(allowed).toEqual([]);
    expect(checkUrl(open, "http://2130706433/")).toContain("127.0.0.1 is a loopback address");
    expect(checkUrl(open, "http://[::ffff:7f00:1]/")).toContain("IPv6 form of the IPv4 address 127.0.0.1");
    expect(checkUrl(open, "http://100.64.0.1/")).toContain("carrier-grade NAT");
    expect(checkUrl(open, "http://localhost./")).toContain("loopback");
    expect(checkUrl(open, "http://10.0.0.1/")).toContain("allowPrivateNetwork");
  });

  test("public addresses and names pass", () => {
    for (const url of [
      "https://example.com/",
      "http://93.184.215.14/",
      "http://1.1.1.1./",
      "http://[2606:4700:4700::1111]/",
      "https://localhost.example.com/",
      "https://internal.example.com/",
      "https://100.63.255.255/",
      "https://172.32.0.1/",
    ]) {
      expect(checkUrl(open, url)).toBeNull();
    }
  });

  test("allowPrivateNetwork opens private ranges but never metadata or the unspecified address", () => {
    for (const url of [
      "http://127.0.0.1:3000/",
      "http://localhost/",
      "http://10.1.2.3/",
      "http://[::1]/",
      "http://printer.local/",
    ]) {
      expect(checkUrl(privateOk, url)).toBeNull();
    }
    for (const url of [
      "http://169.254.169.254/",
      "http://2852039166/",
      "http://[::ffff:169.254.169.254]/",
      "http://[fd00:ec2::254]/",
      "http://metadata.google.internal./",
      "http://0.0.0.0/",
      "http://[::]/",
    ]) {
      expect(checkUrl(privateOk, url)).toContain("even with allowPrivateNetwork");
    }
  });

  test("host and URL globs, deny wins, allow restricts", () => {
    const policy = {
      ...parsePolicySettings({ allowUrls: ["*.example.com", "example.com"], denyUrls: ["*/admin/*"] }),
      blocked: [],
    };
    expect(checkUrl(policy, "https://docs.example.com/page")).toBeNull();
    expect(checkUrl(policy, "https://example.com/")).toBeNull();
    expect(checkUrl(policy, "https://example.com/admin/users")).toContain("denies");
    expect(checkUrl(policy, "https://evil.com/")).toContain("allows only");
    expect(checkUrl(policy, "https://example.com.evil.com/")).toContain("allows only");
    const blocked = { ...open, blocked: [compileGlob("*.png", true)] };
    expect(checkUrl(blocked, "https://a.com/x.png")).toContain('"*.png"');
    expect(checkUrl(blocked, "https://a.com/x.jpg")).toBeNull();
  });

  test("deny patterns match host aliases: case, trailing dots, IPv4 notations, whole-URL globs", () => {
    const policy = {
      ...parsePolicySettings({
        denyUrls: ["intranet.example.com", "93.184.215.14", "https://secret.example.com/*"],
      }),
      blocked: [],
    };
    for (const url of [
      "https://intranet.example.com/",
      "https://INTRANET.Example.COM./",
      "https://intranet.example.com../x",
      "http://93.184.215.14/",
      "http://1572394766/",
      "http://0x5d.0xb8.0xd7.0x0e/",
      "http://93.184.55054/",
      "https://secret.example.com./page",
      "https://SECRET.example.com/page",
    ]) {
      expect(checkUrl(policy, url)).toContain("denies");
    }
    expect(checkUrl(policy, "https://example.com/")).toBeNull();
  });

  test("invalid settings name the field", () => {
    expect(() => parsePolicySettings({ denyUrls: "x" })).toThrow("settings.denyUrls");
    expect(() => parsePolicySettings({ allowPrivateNetwork: "yes" })).toThrow(
      "settings.allowPrivateNetwork must be true or false",
    );
  });

  test("addresses are classified by ipaddr.js ranges", () => {
    expect(addressProblem("8.8.8.8", false)).toBeNull();
    expect(addressProblem("192.168.1.1", false)).toContain("private (RFC 1918)");
    expect(addressProblem("fe80::1", false)).toContain("link-local");
    expect(addressProblem("fd00::1", false)).toContain("unique-local");
    expect(addressProblem("192.168.1.1", true)).toBeNull();
  });
});

describe("resolved host names", () => {
  /** A resolver for names this test controls; no query leaves the process. */
  function fakeResolver(table: Record<string, string[]>) {
    const asked: string[] = [];
    const resolver = new HostResolver(async (host) => {
      asked.push(host);
      const addresses = table[host];
      if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      return addresses;
    });
    return { resolver, asked };
  }

  test("a name resolving to any private address is denied; public names pass; lookups are cached", async () => {
    const { resolver, asked } = fakeResolver({
      "public.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
      "rebind.test": ["93.184.215.14", "127.0.0.1"],
      "private.test": ["10.0.0.7"],
      "mapped.test": ["::ffff:192.168.0.1"],
      "meta.test": ["169.254.169.254"],
      "denied-ip.test": ["93.184.215.15"],
    });
    expect(await checkUrlResolved(open, "https://public.test/a", resolver)).toBeNull();
    expect(await checkUrlResolved(open, "https://public.test/b", resolver)).toBeNull();
    expect(asked.filter((h) => h === "public.test")).toHaveLength(1);
    expect(await checkUrlResolved(open, "https://rebind.test/", resolver)).toContain(
      "rebind.test resolves to 127.0.0.1: 127.0.0.1 is a loopback address",
    );
    expect(await checkUrlResolved(open, "http://private.test./", resolver)).toContain("resolves to 10.0.0.7");
    expect(await checkUrlResolved(open, "http://mapped.test/", resolver)).toContain("IPv6 form");
    expect(await checkUrlResolved(privateOk, "http://private.test/", resolver)).toBeNull();
    expect(await checkUrlResolved(privateOk, "http://meta.test/", resolver)).toContain("metadata");
    expect(await checkUrlResolved(open, "http://nowhere.test/", resolver)).toContain("could not be resolved");
    const denyIp = { ...parsePolicySettings({ denyUrls: ["93.184.215.15"] }), blocked: [] };
    expect(await checkUrlResolved(denyIp, "http://denied-ip.test/", resolver)).toContain("denies");
    // Literal addresses and local schemes need no lookup.
    const before = asked.length;
    expect(await checkUrlResolved(open, "http://93.184.215.14/", resolver)).toBeNull();
    expect(await checkUrlResolved(open, "data:text/html,x", resolver)).toBeNull();
    expect(asked.length).toBe(before);
  });

  test("a lookup that never answers is refused after the timeout, and not cached", async () => {
    let calls = 0;
    const resolver = new HostResolver(
      () => {
        calls++;
        return new Promise<string[]>(() => undefined);
      },
      30_000,
      20,
    );
    expect(await checkUrlResolved(open, "http://slow.test/", resolver)).toContain("no answer within 20 ms");
    expect(await checkUrlResolved(open, "http://slow.test/", resolver)).toContain("could not be resolved");
    expect(calls).toBe(2);
  });
});

describe("proxy decisions (host and port only, as a SOCKS5 request names them)", () => {
  const resolver = new HostResolver(async (host) => {
    const table: Record<string, string[]> = {
      "public.test": ["93.184.215.14"],
      "rebind.test": ["93.184.215.14", "10.1.1.1"],
    };
    const addresses = table[host];
    if (!addresses) throw new Error(`ENOTFOUND ${host}`);
    return addresses;
  });

  test("the checked address is returned to dial; private ones, in any notation, are refused", async () => {
    expect(await decideHost(open, "public.test", resolver)).toEqual({ address: "93.184.215.14" });
    expect(await decideHost(open, "93.184.215.14", resolver)).toEqual({ address: "93.184.215.14" });
    for (const host of [
      "127.0.0.1",
      "0:0:0:0:0:0:0:1",
      "::ffff:7f00:1",
      "LOCALHOST.",
      "x.localhost",
      "0.0.0.0",
      "rebind.test",
    ]) {
      expect(await decideHost(open, host, resolver)).toHaveProperty("reason");
    }
    expect(await decideHost(open, "rebind.test", resolver)).toEqual({
      reason: expect.stringContaining("rebind.test resolves to 10.1.1.1"),
    });
    expect(await decideHost(privateOk, "127.0.0.1", resolver)).toEqual({ address: "127.0.0.1" });
    expect(await decideHost(privateOk, "169.254.169.254", resolver)).toHaveProperty("reason");
    const denied = { ...parsePolicySettings({ denyUrls: ["*.public.test", "public.test"] }), blocked: [] };
    expect(await decideHost(denied, "PUBLIC.test.", resolver)).toEqual({
      reason: expect.stringContaining('("public.test")'),
    });
    expect(await decideHost(open, "bad host", resolver)).toEqual({ reason: "bad host is not a valid host" });
  });
});
