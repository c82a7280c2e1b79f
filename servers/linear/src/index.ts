import { serve } from "@omni/kit";
import { createLinearServer, linearOptionsFromEnv } from "./server.ts";

// PORT wins when set; the Linear server's conventional port is 3001.
serve(createLinearServer(linearOptionsFromEnv()), process.env.PORT ? {} : { port: 3001 });
