import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServerClient } from "@omni/kit";
import { type Site, startSite } from "./fixtures/site.ts";

// The HTTP entry (`bun src/index.ts`) as a deployment runs it, stopped by a signal.
const site: Site = startSite();
afterAll(() => site.stop(), 20_000);

function chromiumUsing(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

for (const [signal, port] of [
  ["SIGTERM", 40260],
  ["SIGINT", 40261],
] as const) {
  test(`HTTP server, ${signal}: no Chromium, no profile, TMPDIR or upload directory is left`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), "omni-dt-process-"));
    const proc = Bun.spawn([process.execPath, "src/index.ts"], {
      cwd: join(import.meta.dir, ".."),
      env: { ...process.env, PORT: String(port), TMPDIR: tmp },
      stdout: "pipe",
      stderr: "ignore",
    });
    try {
      const reader = proc.stdout.getReader();
      let out = "";
      while (!out.includes("listening on")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the server did not start: ${out}`);
        out += new TextDecoder().decode(value);
      }
      void reader.cancel();
      const client = createServerClient(`http://127.0.0.1:${port}`);
      const scope = {
        org: {
          orgId: "org_p",
          userId: null,
          role: "member" as const,
          permissions: ["tools:call"],
          via: "dev" as const,
          requestId: "r",
        },
        config: { settings: { allowPrivateNetwork: true }, credentials: {} },
        sessionKey: "s-process",
      };
      for (const [name, args] of [
        ["chrome_navigate", { url: `${site.url}/form` }],
        ["chrome_upload_file", { element: "#file", files: [{ name: "a.txt", content: "hello" }] }],
      ] as const) {
        const event = await client.callTool({ name, arguments: args, scope, live: false });
        expect(event.type === "result" && !event.result.isError).toBe(true);
      }
      const entries = readdirSync(tmp);
      expect(entries.filter((d) => d.startsWith("omni-chromium-"))).toHaveLength(1);
      expect(entries.filter((d) => d.startsWith("omni-upload-"))).toHaveLength(1);
      const pids = chromiumUsing(tmp);
      expect(pids.length).toBeGreaterThan(0);

      proc.kill(signal);
      expect(await proc.exited).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
}
