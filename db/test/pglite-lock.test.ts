import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, PgliteInUseError } from "../src/index.ts";

/** One process per PGlite directory: a second one is refused while the first lives, not after it died. */

const dir = mkdtempSync(join(tmpdir(), "omni-pglite-lock-"));
const dataDir = join(dir, "pglite");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("PGlite directory lock", () => {
  test("refused while another live process holds it; taken over once that process is gone", async () => {
    const holder = Bun.spawn(
      [
        "bun",
        "-e",
        `const { createDb } = await import(${JSON.stringify(join(import.meta.dir, "../src/index.ts"))});
         await createDb({ dataDir: ${JSON.stringify(dataDir)} });
         console.log("open");
         await new Promise(() => {});`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("open");

    const refused = await createDb({ dataDir }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PgliteInUseError);
    expect((refused as PgliteInUseError).pid).toBe(holder.pid);
    expect((refused as Error).message).toContain("DATABASE_URL");

    holder.kill("SIGKILL");
    await holder.exited;
    const handle = await createDb({ dataDir });
    await handle.close();
  }, 60_000);
});
