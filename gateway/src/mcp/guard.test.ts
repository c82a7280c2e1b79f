import { expect, test } from "bun:test";
import { createOriginGuard } from "./guard.ts";

const check = (
  policy: { allowedHosts?: string[]; allowedOrigins?: string[] },
  headers: Record<string, string>,
) =>
  createOriginGuard({ allowedHosts: policy.allowedHosts ?? [], allowedOrigins: policy.allowedOrigins ?? [] })(
    new Headers(headers),
  );

test("loopback hosts and origins are allowed on any port", () => {
  for (const host of ["localhost:37373", "127.0.0.1:1", "[::1]:8080", "localhost"]) {
    expect(check({}, { host })).toBeNull();
  }
  expect(check({}, { host: "localhost:1", origin: "http://127.0.0.1:5173" })).toBeNull();
});

test("foreign hosts and origins are refused unless listed", () => {
  expect(check({}, { host: "evil.example.com" })).toMatch(/ALLOWED_HOSTS/);
  expect(check({}, { host: "localhost", origin: "http://evil.example.com" })).toMatch(/ALLOWED_ORIGINS/);
  expect(check({}, {})).toMatch(/Host/);
  expect(check({ allowedHosts: ["mcp.example.com"] }, { host: "mcp.example.com:443" })).toBeNull();
  expect(check({ allowedHosts: ["mcp.example.com:8443"] }, { host: "mcp.example.com:9999" })).toMatch(
    /not allowed/,
  );
  expect(
    check(
      { allowedHosts: ["mcp.example.com"], allowedOrigins: ["https://app.example.com"] },
      {
        host: "mcp.example.com",
        origin: "https://app.example.com",
      },
    ),
  ).toBeNull();
});
