import { createServerApp, kitLifecycle, type ServerAppOptions } from "./app.ts";
import { InternalTokenError } from "./internal-token.ts";
import { type MetricsServer, metricsOptionsFromEnv, serveMetrics } from "./telemetry/metrics.ts";
import { startTracing } from "./telemetry/tracing.ts";
import type { ServerDefinition } from "./types.ts";

export interface ServeOptions extends ServerAppOptions {
  /** Default: `PORT` from env, else 0 (a free port). */
  port?: number;
  /** Default: `HOST` from env, else 127.0.0.1. */
  hostname?: string;
  /** On stop, how long running tool calls may take to finish before they are cancelled. Default 10 s. */
  shutdownGraceMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function envPort(): number | undefined {
  const raw = process.env.PORT;
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer between 0 and 65535, got "${raw}"`);
  }
  return port;
}

/**
 * Listen with a definition's app, log one line, and stop gracefully on SIGINT/SIGTERM: no new
 * connections, MCP sessions closed, running calls given `shutdownGraceMs` and then cancelled (their
 * `ctx.signal` aborts), then `def.close()`.
 */
export function serve(def: ServerDefinition, options: ServeOptions = {}): RunningServer {
  const { port: portOption, hostname: hostOption, shutdownGraceMs = 10_000, ...appOptions } = options;
  const port = portOption ?? envPort() ?? 0;
  const hostname = hostOption ?? process.env.HOST ?? "127.0.0.1";
  // Streamed tool calls may be quiet for long stretches; the gateway bounds them, not the socket timer.
  let made: ReturnType<typeof createServerApp>;
  try {
    made = createServerApp(def, appOptions);
  } catch (error) {
    // A start-up error an operator fixes in the environment: say what to set, without a stack trace.
    if (!(error instanceof InternalTokenError)) throw error;
    console.error(`${def.name}: ${error.message}`);
    process.exit(1);
  }
  const app = made.listen({ port, hostname, idleTimeout: 0 });
  const bound = app.server?.port ?? port;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${bound}`;
  console.log(`${def.name} ${def.version} listening on ${url} (RPC /rpc, MCP ${url}/mcp)`);
  // METRICS_PORT: /metrics on a listener of its own (loopback unless METRICS_HOST says otherwise).
  const metricsEnv = metricsOptionsFromEnv();
  // OTEL_*: tracing of this server's tool calls (off unless the environment turns it on).
  const tracing = startTracing(`omni-${def.name}`);
  let metricsServer: MetricsServer | undefined;
  if (metricsEnv.port !== undefined && options.metrics === undefined) {
    metricsServer = serveMetrics({ ...metricsEnv, port: metricsEnv.port });
    console.log(`${def.name} metrics on ${metricsServer.url}/metrics`);
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      metricsServer?.stop();
      const server = app.server;
      const lifecycle = kitLifecycle(app);
      // Stop accepting connections; MCP sessions end now (their GET streams would never drain).
      const drained = server ? server.stop(false) : Promise.resolve();
      // The gateways' call sockets take no new calls and close as their running calls finish.
      lifecycle?.drainSockets();
      await lifecycle?.closeSessions();
      // Running calls get a grace period, then their signals abort and the connections close.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"grace">((resolve) => {
        timer = setTimeout(() => resolve("grace"), shutdownGraceMs);
      });
      const outcome = await Promise.race([drained.then(() => "drained" as const), graceOver]);
      clearTimeout(timer);
      if (outcome === "grace") {
        lifecycle?.cancelCalls("The server is shutting down");
        await server?.stop(true);
      }
      await def.close?.();
      await tracing?.shutdown();
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`${def.name}: ${signal} received, shutting down`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`${def.name}: shutdown failed`, error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return { url, port: bound, stop };
}
