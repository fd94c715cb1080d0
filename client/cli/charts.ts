import { UsageError } from "../errors.ts";

// Time options and terminal charts shared by `deployments metrics` and `deployments drift`.

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+)([smhd])$/;
const BLOCKS = "▁▂▃▄▅▆▇█";
/** A sparkline is at most this many characters: longer series are shown by their groups' maxima. */
const SPARK_WIDTH = 60;

/** `--from` and `--to` of a command that reads a time window; `fromHint` says its example and default. */
export function windowOptions(fromHint: string) {
  return {
    from: {
      type: "string",
      placeholder: "instant|ago",
      description: `Window start: RFC 3339 or a time ago ${fromHint}`,
    },
    to: {
      type: "string",
      placeholder: "instant|ago",
      description: "Window end: RFC 3339 or a time ago; default now",
    },
  } as const;
}

/** `--from 6h` (six hours ago) or an RFC 3339 instant, as the API takes it. */
export function instantOption(
  value: string | undefined,
  name: string,
  command: string,
  now = Date.now(),
): string | undefined {
  if (value === undefined) return undefined;
  const relative = DURATION.exec(value);
  if (relative)
    return new Date(now - Number(relative[1]) * (UNITS[relative[2] as string] ?? 1) * 1000).toISOString();
  if (Number.isNaN(Date.parse(value)))
    throw new UsageError(
      `--${name} takes an RFC 3339 instant (2026-12-02T10:00:00Z) or a time ago (90m, 6h, 2d), not '${value}'.`,
      command,
    );
  return value;
}

/** `--period 300` or `5m`. */
export function periodOption(value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const relative = DURATION.exec(value);
  const seconds = relative ? Number(relative[1]) * (UNITS[relative[2] as string] ?? 1) : Number(value);
  if (!Number.isInteger(seconds))
    throw new UsageError(`--period takes seconds (300) or a duration (5m, 1h), not '${value}'.`, command);
  return seconds;
}

/**
 * A unicode block per value, scaled from 0 to `max` (default: the series' own maximum, so two
 * series given one max read alike); a blank where there was no data. Longer than `width`, values
 * are grouped and each group shows its maximum.
 */
export function sparkline(
  values: readonly (number | null)[],
  { width = SPARK_WIDTH, max }: { readonly width?: number; readonly max?: number } = {},
): string {
  const groups = Math.ceil(values.length / width) || 1;
  const points: (number | null)[] = [];
  for (let i = 0; i < values.length; i += groups) {
    const group = values.slice(i, i + groups).filter((v): v is number => v !== null);
    points.push(group.length ? Math.max(...group) : null);
  }
  const top = max ?? Math.max(0, ...points.filter((v): v is number => v !== null));
  return points
    .map((v) => {
      if (v === null) return " ";
      if (top === 0) return BLOCKS[0];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor((v / top) * (BLOCKS.length - 1) + 0.5))];
    })
    .join("");
}
