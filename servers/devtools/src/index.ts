import { serve } from "@omni/kit";
import { helpText } from "./config.ts";
import { createDevtoolsServer } from "./server.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(helpText("start"));
  process.exit(0);
}

const def = createDevtoolsServer();
serve(def, { port: Number(process.env.PORT || 3003) });
// DEVTOOLS_PREWARM (default on): Chromium and a spare context start now, not on the first call.
void def.sessions.prewarm();
