import { runStdio } from "@omni/kit";
import { createLinearServer, linearOptionsFromEnv } from "./server.ts";

await runStdio(createLinearServer(linearOptionsFromEnv()));
