import { describe, expect, test } from "bun:test";
import { isPublicAddress, UpstreamEgress } from "./egress.ts";

// No test here sends a packet: addresses are classified, names go through an injected resolver.
const resolver = (table: Record<string, string[]>) => async (host: string) => {
  const addresses = table[host];
  if (!addresses) throw new Error(`ENOTFOUND ${host}`);
  return addresses;
};

describe("org upstream egress guard", () => {
  test("public unicast passes; loopback, private, link-local, CGNAT, ULA, mapped and NAT64 forms do not", () => {
    for (const ok of ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
      expect(isPublicAddress(ok)).toBe(true);
    for (const bad of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fc00::1",
      "fe80::1",
      "::ffff:127.0.0.1",
      "::ffff:169.254.169.254",
      "64:ff9b::a9fe:a9fe",
      "not an address",
    ]) {
      expect(isPublicAddress(bad)).toBe(false);
    }
  });

  test("a URL is refused with a reason naming the field and what to do", async () => {
    const egress = new UpstreamEgress([], resolver({ "metadata.internal": ["169.254.169.254"] }));
    expect(await egress.problem("http://169.254.169.254/latest/meta-data")).toContain(
      "FEDERATION_ALLOWED_PRIVATE_HOSTS",
    );
    expect(await egress.problem("http://[::1]:3000/mcp")).toContain("private, loopback or link-local");
    expect(await egress.problem("http://metadata.internal/mcp")).toContain("169.254.169.254");
    expect(await egress.problem("http://nowhere.invalid/mcp")).toBe(
      "url host nowhere.invalid cannot be resolved",
    );
    expect(await egress.problem("file:///etc/passwd")).toBe("url must be http or https, not file");
    expect(await egress.problem("https://user:pw@93.184.216.34/mcp")).toContain("must not carry credentials");
    expect(await egress.problem("not a url")).toBe("url is not a valid URL");
    expect(await egress.problem("https://93.184.216.34/mcp")).toBeNull();
  });

  test("a name is refused if any of its addresses is private (one public address does not launder it)", async () => {
    const egress = new UpstreamEgress([], resolver({ "mixed.example": ["93.184.216.34", "10.0.0.7"] }));
    expect(await egress.problem("https://mixed.example/mcp")).toContain("10.0.0.7");
  });

  test("the operator's allow-list admits named private hosts, case- and bracket-insensitively; * admits all", async () => {
    const egress = new UpstreamEgress(
      ["Internal.Example.", "::1"],
      resolver({ "internal.example": ["10.0.0.9"] }),
    );
    expect(await egress.problem("http://INTERNAL.example/mcp")).toBeNull();
    expect(await egress.problem("http://[::1]:9/mcp")).toBeNull();
    expect(await egress.problem("http://127.0.0.1:9/mcp")).not.toBeNull();
    expect(await new UpstreamEgress(["*"]).problem("http://10.0.0.1/mcp")).toBeNull();
  });
});
