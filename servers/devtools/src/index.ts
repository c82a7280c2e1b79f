import { serve } from "@omni/kit";
import { createDevtoolsServer } from "./server.ts";

serve(createDevtoolsServer(), { port: Number(process.env.PORT || 3003) });
