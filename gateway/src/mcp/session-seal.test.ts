import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { SessionSealer } from "./session-seal.ts";

const caller = {
  org: {
    orgId: "org_1",
    userId: "user_1",
    role: "member" as const,
    permissions: ["tools:call"],
    via: "api_key" as const,
  },
  credentialId: "key_1",
};
const init = {
  caller,
  protocolVersion: "2025-11-25" as const,
  clientCapabilities: { elicitation: {} },
  clientInfo: { name: "probe", version: "1.0.0", extra: "dropped" },
};

describe("sealed session ids", () => {
  test("any sealer with the key opens an id into the same session; nothing but the sid is in clear", () => {
    const key = randomBytes(32);
    const { token, sealed } = new SessionSealer(key, 60_000).seal(init);
    expect(token).toStartWith(`s1.${sealed.sid}.`);
    expect(token).not.toContain("org_1");
    expect(token).not.toContain("probe");
    const opened = new SessionSealer(key, 60_000).open(token);
    expect(opened).toEqual(sealed);
    expect(opened?.caller).toEqual(caller);
    expect(opened?.clientInfo).toEqual({ name: "probe", version: "1.0.0" });
  });

  test("a modified id, another sid, another key or an expired id open to nothing", () => {
    const key = randomBytes(32);
    let now = 1_000_000;
    const sealer = new SessionSealer(key, 60_000, () => now);
    const { token, sealed } = sealer.seal(init);
    const flipped = token.slice(0, -3) + (token.at(-3) === "A" ? "B" : "A") + token.slice(-2);
    expect(sealer.open(flipped)).toBeNull();
    // The sid is bound (additional data): a sealed part moved under another sid does not open.
    const other = sealer.seal(init).sealed.sid;
    expect(sealer.open(token.replace(sealed.sid, other))).toBeNull();
    expect(new SessionSealer(randomBytes(32), 60_000).open(token)).toBeNull();
    expect(sealer.open("not-a-session")).toBeNull();
    expect(sealer.open(`${token}x`.repeat(10))).toBeNull();
    now += 60_001;
    expect(sealer.open(token)).toBeNull();
  });

  test("huge experimental capabilities are trimmed so the id stays a small header", () => {
    const { token, sealed } = new SessionSealer(randomBytes(32), 60_000).seal({
      ...init,
      clientCapabilities: { elicitation: {}, experimental: { blob: { data: "x".repeat(5000) } } },
    });
    expect(sealed.clientCapabilities).toEqual({ elicitation: {} });
    expect(token.length).toBeLessThan(1024);
  });
});
