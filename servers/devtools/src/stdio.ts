import { runStdio } from "@omni/kit";
import { helpText } from "./config.ts";
import { createDevtoolsServer } from "./server.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(helpText("stdio"));
  process.exit(0);
}

const def = createDevtoolsServer();
// DEVTOOLS_PREWARM (default on): Chromium and a spare context start now; the line tells a client (and the
// bench) that the first page will not wait for them.
void def.sessions.prewarm().then((ready) => {
  if (ready) console.error("devtools: ready (Chromium started, a browser context is prewarmed)");
});

// Ctrl-C / SIGTERM: stop Chromium and remove its directories (profile, TMPDIR, uploads) before exiting.
let closing = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  Promise.resolve(def.close?.()).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`devtools: shutdown after ${signal} failed`, error);
      process.exit(1);
    },
  );
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);

// stdin closed: the client is gone. Nothing else keeps the process alive once the browser has stopped.
await runStdio(def);
await def.close?.();
process.off("SIGINT", shutdown);
process.off("SIGTERM", shutdown);
