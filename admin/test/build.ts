import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Builds the dashboard (`vite build`) unless `dist/` is newer than every source file. */
export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(join(root, "dist/index.html")).mtimeMs;
  } catch {}
  const sources = Math.max(
    newest(join(root, "src")),
    newest(join(root, "index.html")),
    newest(join(root, "vite.config.ts")),
  );
  if (built > sources) return;
  // NODE_ENV=production: `bun test` sets NODE_ENV=test, which would give a development build.
  const proc = Bun.spawn(["bun", "run", "build"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production" },
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await proc.exited) !== 0)
    throw new Error(`the dashboard build failed:\n${await new Response(proc.stderr).text()}`);
}
