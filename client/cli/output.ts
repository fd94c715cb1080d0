/**
 * Output for people by default (tables, colours only on a terminal) and JSON for scripts. Results
 * go to stdout; progress, hints and errors go to stderr so `--json` output stays parseable.
 */

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

const useColour = (stream: NodeJS.WriteStream): boolean =>
  Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

const paint = (code: string) => (stream: NodeJS.WriteStream, text: string) =>
  useColour(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;

export const bold = paint("1");
export const dim = paint("2");
export const red = paint("31");
export const green = paint("32");
export const yellow = paint("33");

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** A command's result: JSON when asked for, the human rendering otherwise. */
  result(data: unknown, human: () => string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else {
      const text = human();
      if (text !== "") this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    }
  }

  /** A line for people about what is happening; never part of the result. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  get stderrStream(): NodeJS.WriteStream {
    return this.stderr;
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[], empty = "(none)"): string {
    if (rows.length === 0) return dim(this.stdout, empty);
    return renderTable(
      rows.map((row) => columns.map((c) => c.value(row))),
      columns.map((c) => c.header),
      columns.map((c) => c.right ?? false),
      (header) => bold(this.stdout, header),
    );
  }

  /** `key: value` lines for one entity. */
  fields(pairs: ReadonlyArray<readonly [string, string]>): string {
    const width = Math.max(...pairs.map(([key]) => key.length));
    return pairs
      .map(([key, value]) => `${bold(this.stdout, `${key}:`.padEnd(width + 1))} ${value}`)
      .join("\n");
  }

  colour(kind: "bold" | "dim" | "red" | "green" | "yellow", text: string): string {
    return { bold, dim, red, green, yellow }[kind](this.stdout, text);
  }
}

export function renderTable(
  rows: readonly (readonly string[])[],
  headers: readonly string[],
  rightAligned: readonly boolean[] = [],
  styleHeader: (text: string) => string = (text) => text,
): string {
  const cells = rows.map((row) => row.map((cell) => cell.replace(/\s*\n\s*/g, " ")));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => (row[i] ?? "").length)),
  );
  const line = (row: readonly string[], style: (text: string) => string = (t) => t) =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        const padded = rightAligned[i] ? cell.padStart(width) : cell.padEnd(width);
        return i === row.length - 1 && !rightAligned[i] ? style(cell) : style(padded);
      })
      .join("  ");
  return [line(headers, styleHeader), ...cells.map((row) => line(row))].join("\n");
}

/** RFC 4180 CSV: quotes only where needed. */
export function toCsv(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (value: unknown) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [headers, ...rows].map((row) => row.map(cell).join(",")).join("\n");
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
