import { AsyncLocalStorage } from "node:async_hooks";

/**
 * A tiny structured logger: one JSON object per line on stdout (errors on stderr), or a pretty line in
 * development (`opts.format`; the gateway passes `LOG_FORMAT`), with bound fields (e.g. `orgId`) carried by child loggers. Level from
 * `opts.level` (debug|info|warn|error|silent; default info; the gateway passes `LOG_LEVEL`). Fields named like credentials (authorization, token,
 * secret, password, api key, cookie) are written as `[redacted]`.
 * A line written while the gateway handles a request carries that request's `requestId` (the security
 * plugin runs every request inside `withRequestId`), so call sites need not pass it.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
type Fields = Record<string, unknown>;

/**
 * `detail`: a plain object is merged into the line as fields; anything else (an `Error`, a string, ...)
 * becomes its `error` field, so a `Logger` stands in for `console` (`logger.warn("msg", error)`).
 */
export interface Logger {
  debug(msg: string, detail?: unknown): void;
  info(msg: string, detail?: unknown): void;
  warn(msg: string, detail?: unknown): void;
  error(msg: string, detail?: unknown): void;
  /** A logger whose lines all carry `fields`. */
  child(fields: Fields): Logger;
}

const rank: Record<LogLevel | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** `json`: one JSON object per line (production); `pretty`: `time LEVEL msg key=value ...` (development). */
export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  level?: LogLevel | "silent";
  /** Default `json`; the gateway passes `LOG_FORMAT` (default `pretty` in local development mode). */
  format?: LogFormat;
  /** Where lines go (default: stdout/stderr). Tests pass an array's push. */
  sink?: (line: string, level: LogLevel) => void;
  fields?: Fields;
}

/** Field names whose values are never written (credentials that a call site might pass by mistake). */
const SECRET_FIELD = /(authorization|cookie|password|passwd|secret|token|api[-_]?key|credentials)$/i;

const PRETTY_LEVEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
};

/** One record as a development line: the time of day, the level, the message, then `key=value` pairs. */
function prettyLine(record: Fields): string {
  const { time, level, msg, ...rest } = record;
  const parts = [
    `${String(time).slice(11, 23)} ${PRETTY_LEVEL[level as LogLevel] ?? String(level)} ${String(msg)}`,
  ];
  for (const [key, value] of Object.entries(rest)) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}=${typeof value === "string" && /\s/.test(value) ? JSON.stringify(value) : text}`);
  }
  return parts.join(" ");
}

function defaultSink(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

const requestScope = new AsyncLocalStorage<string>();

/** Runs `fn` with `requestId` as the id every log line written inside it (and its async work) carries. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestScope.run(requestId, fn);
}

function isFields(value: unknown): value is Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Errors become `{name, message}` (no stacks in production logs unless debug). */
function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = rank[opts.level ?? "info"];
  const sink = opts.sink ?? defaultSink;
  const bound = opts.fields ?? {};
  const format = opts.format ?? "json";
  const write = (level: LogLevel, msg: string, detail?: unknown) => {
    if (rank[level] < min) return;
    const requestId = requestScope.getStore();
    const record: Fields = {
      time: new Date().toISOString(),
      level,
      msg,
      ...(requestId === undefined ? {} : { requestId }),
      ...bound,
    };
    const fields = detail === undefined ? undefined : isFields(detail) ? detail : { error: detail };
    if (fields) {
      for (const [k, val] of Object.entries(fields))
        record[k] = SECRET_FIELD.test(k) ? "[redacted]" : serialise(val);
    }
    sink(format === "pretty" ? prettyLine(record) : JSON.stringify(record), level);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) =>
      createLogger({
        ...(opts.level ? { level: opts.level } : {}),
        format,
        sink,
        fields: { ...bound, ...fields },
      }),
  };
}
