import { serve } from "@omni/kit";
import { helpText } from "./config.ts";
import { createDevtoolsServer } from "./server.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(helpText("start"));
  process.exit(0);
}

serve(createDevtoolsServer(), { port: Number(process.env.PORT || 3003) });
