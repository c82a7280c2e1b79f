import { runStdio } from "@omni/kit";
import { createDevtoolsServer } from "./server.ts";

const def = createDevtoolsServer();
await runStdio(def);
await def.close?.();
