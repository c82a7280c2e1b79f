/**
 * A tiny structured logger: one JSON object per line on stdout (errors on stderr), with bound fields
 * (e.g. `requestId`, `orgId`) carried by child loggers. Level from `LOG_LEVEL` (debug|info|warn|error|silent).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines all carry `fields`. */
  child(fields: Fields): Logger;
}

const rank: Record<LogLevel | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  level?: LogLevel | "silent";
  /** Where lines go (default: stdout/stderr). Tests pass an array's push. */
  sink?: (line: string, level: LogLevel) => void;
  fields?: Fields;
}

function parseLevel(raw: string | undefined): LogLevel | "silent" {
  return raw && raw in rank ? (raw as LogLevel | "silent") : "info";
}

function defaultSink(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

/** Errors become `{name, message}` (no stacks in production logs unless debug). */
function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = rank[opts.level ?? parseLevel(process.env.LOG_LEVEL)];
  const sink = opts.sink ?? defaultSink;
  const bound = opts.fields ?? {};
  const write = (level: LogLevel, msg: string, fields?: Fields) => {
    if (rank[level] < min) return;
    const record: Fields = { time: new Date().toISOString(), level, msg, ...bound };
    if (fields) for (const [k, val] of Object.entries(fields)) record[k] = serialise(val);
    sink(JSON.stringify(record), level);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) =>
      createLogger({
        level: opts.level ?? parseLevel(process.env.LOG_LEVEL),
        sink,
        fields: { ...bound, ...fields },
      }),
  };
}
