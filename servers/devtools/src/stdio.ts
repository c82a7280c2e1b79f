import { BrowserHost } from "./browser.ts";
import { helpText, readOptions } from "./config.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(helpText("stdio"));
  process.exit(0);
}

const options = readOptions();
const host = new BrowserHost(options);
let close: () => Promise<void> = () => host.stop();

// Ctrl-C / SIGTERM: stop Chromium and remove its directories (profile, TMPDIR, uploads) before exiting.
let closing = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`devtools: shutdown after ${signal} failed`, error);
      process.exit(1);
    },
  );
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);

// DEVTOOLS_PREWARM (default on): Chromium starts launching first, while the kit and the tools load.
if (options.prewarm) void host.connect().catch(() => undefined);
const [{ runStdio }, { createDevtoolsServer }] = await Promise.all([
  import("@omni/kit"),
  import("./server.ts"),
]);
const def = createDevtoolsServer(options, host);
close = async () => {
  await def.close?.();
};
// A spare context follows; the line tells a client (and the bench) that the first page will not wait.
void def.sessions.prewarm().then((ready) => {
  if (ready) console.error("devtools: ready (Chromium started, a browser context is prewarmed)");
});

// stdin closed: the client is gone. Nothing else keeps the process alive once the browser has stopped.
await runStdio(def);
await def.close?.();
process.off("SIGINT", shutdown);
process.off("SIGTERM", shutdown);
