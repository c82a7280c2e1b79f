import pc from "picocolors";

/**
 * Terminal output of every command: results on stdout (a table, or JSON with `--json`), everything else
 * (progress, warnings, errors) on stderr, colours only where that stream is a terminal (and NO_COLOR is
 * unset), and one error type that carries the exit code and what to do next.
 */

/** Exit codes: 0 ok, 1 the command failed, 2 the command line was wrong (usage printed). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const colorsFor = (stream: NodeJS.WriteStream) =>
  pc.createColors(Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb");

/** Colours for stdout and stderr, each on only when that stream is a terminal. */
export const out = colorsFor(process.stdout);
export const err = colorsFor(process.stderr);

/** A failure the user can act on: `message` says what went wrong, `hint` what to do next. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function printError(error: CliError): void {
  process.stderr.write(`${err.red("error:")} ${error.message}\n`);
  if (error.hint) process.stderr.write(`${err.dim("→")} ${error.hint}\n`);
}

/** Prints `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

type Cell = string | number | boolean | null | undefined;

/** A plain aligned table on stdout (header dimmed on a terminal); "(none)" for no rows. */
export function printTable(columns: string[], rows: Cell[][], empty = "(none)"): void {
  if (rows.length === 0) {
    process.stdout.write(`${out.dim(empty)}\n`);
    return;
  }
  const text = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? "" : String(cell))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${out.dim(line(columns))}\n`);
  for (const row of text) process.stdout.write(`${line(row)}\n`);
}

/** Prints either JSON (`json`) or a table of `rows` built from the same items. */
export function printList<T>(
  json: boolean | undefined,
  items: T[],
  columns: string[],
  row: (item: T) => Cell[],
  empty?: string,
): void {
  if (json) printJson(items);
  else printTable(columns, items.map(row), empty);
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Runs `task` with progress on stderr when it takes longer than a second: a spinner on a terminal, one
 * "label…" line otherwise. Nothing is printed for quick tasks.
 */
let spinnersPaused = 0;

/** Runs `fn` with every spinner quiet and its line cleared (a prompt on the terminal meanwhile). */
export async function withSpinnersPaused<T>(fn: () => Promise<T>): Promise<T> {
  spinnersPaused++;
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[2K");
  try {
    return await fn();
  } finally {
    spinnersPaused--;
  }
}

export async function withProgress<T>(label: string, task: () => Promise<T>): Promise<T> {
  const stream = process.stderr;
  let frame = 0;
  let spinner: ReturnType<typeof setInterval> | undefined;
  let shown = false;
  const start = setTimeout(() => {
    shown = true;
    if (!stream.isTTY) {
      stream.write(`${label}…\n`);
      return;
    }
    spinner = setInterval(() => {
      if (spinnersPaused > 0) return;
      stream.write(`\r${err.cyan(FRAMES[frame++ % FRAMES.length] ?? "")} ${label}…`);
    }, 80);
  }, 1000);
  try {
    return await task();
  } finally {
    clearTimeout(start);
    if (spinner) clearInterval(spinner);
    if (shown && stream.isTTY) stream.write("\r\x1b[2K");
  }
}
