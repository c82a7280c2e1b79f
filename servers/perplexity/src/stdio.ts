import { runStdio } from "@omni/kit";
import { createPerplexityServer, perplexityOptionsFromEnv } from "./server.ts";

await runStdio(createPerplexityServer(perplexityOptionsFromEnv()));
