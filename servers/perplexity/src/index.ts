import { serve } from "@omni/kit";
import { createPerplexityServer, perplexityOptionsFromEnv } from "./server.ts";

// PORT wins when set; the Perplexity server's conventional port is 3002.
serve(createPerplexityServer(perplexityOptionsFromEnv()), process.env.PORT ? {} : { port: 3002 });
