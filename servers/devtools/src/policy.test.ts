import { describe, expect, test } from "bun:test";
import { checkUrl, compileGlob, parsePolicySettings, type UrlPolicy } from "./policy.ts";

const open: UrlPolicy = { allow: [], deny: [], blocked: [] };

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

  test("invalid settings name the field", () => {
    expect(() => parsePolicySettings({ denyUrls: "x" })).toThrow("settings.denyUrls");
  });
});
