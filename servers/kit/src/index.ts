export { createServerApp, type KitApp, type ServerAppOptions } from "./app.ts";
export {
  type NamedPrompt,
  NEAR_DUPLICATE_DESCRIPTIONS,
  nearDuplicatePrompts,
  promptNameProblem,
  serverCapabilities,
} from "./catalogue.ts";
export {
  type CallToolOptions,
  createServerClient,
  KitRpcError,
  type ServerClient,
  type ServerClientOptions,
  type StreamEvent,
  type TerminalEvent,
  type ToolCallBody,
  type ToolCallStreamEvent,
} from "./client.ts";
export {
  type DeploymentTokenSpec,
  InternalTokenError,
  internalTokenChecker,
  loadDeploymentToken,
  loadInternalToken,
} from "./internal-token.ts";
export { runStdio } from "./mcp.ts";
export {
  type Completion,
  completeArgument,
  completion,
  matchingValues,
  PromptArgumentError,
  type PromptArgumentProblem,
  PromptTemplateError,
  promptDescriptor,
  renderPrompt,
  type TemplateIssue,
  templateIssues,
} from "./prompts.ts";
export { ClientRequestError, MissingClientCapabilityError } from "./runner.ts";
export { type RunningServer, type ServeOptions, serve } from "./serve.ts";
export {
  CollectedMetric,
  DURATION_BUCKETS,
  enableDefaultMetrics,
  LabelledHistogram,
  type MetricsOptions,
  type MetricsServer,
  metricsHandler,
  metricsOptionsFromEnv,
  metricsRegistry,
  serveMetrics,
} from "./telemetry/metrics.ts";
export {
  activeTracer,
  endWithError,
  parentContext,
  type RunningTracing,
  SpanKind,
  setActiveTracer,
  spanContext,
  startTracing,
  traceHeaders,
  tracesExporterFromEnv,
} from "./telemetry/tracing.ts";
export * from "./types.ts";
export {
  callUpstream,
  type Deadline,
  deadline,
  retryAfterMs,
  sleep,
  type UpstreamCallOptions,
} from "./upstream.ts";
