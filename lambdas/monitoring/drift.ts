/**
 * Drift of one column against its baseline: population stability index (PSI), missing-rate change
 * and row counts (docs/monitoring.md). Pure functions over plain values, so the API, local mode and
 * the tests compute exactly the same figures.
 *
 * Numeric columns (Int32, Int64, Float32, Float64, Time64 as epoch milliseconds) are binned by the
 * baseline's deciles; String and Boolean columns by the baseline's most frequent categories plus an
 * "other" bucket. Missing values (null, NaN, unparseable times) are left out of the bins and
 * reported as the missing rate instead.
 */
import type { ColumnType } from "../experiments/schema-rules.ts";

export type Cell = string | number | boolean | null | undefined;

export interface DriftThresholds {
  /** PSI above this is drift. 0.2 is the customary "significant shift" line. */
  readonly psi: number;
  /** A missing rate that moves by more than this (absolute, 0–1) is drift. */
  readonly missingRateChange: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { psi: 0.2, missingRateChange: 0.1 };

/** Proportions are floored at this before the logarithm, so an empty bin does not make PSI infinite. */
export const PSI_EPSILON = 1e-4;
/** Categories beyond this many (by baseline frequency) share the "other" bucket. */
export const MAX_CATEGORIES = 20;
export const OTHER_CATEGORY = "(other)";
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

interface BaselineCommon {
  readonly rows: number;
  readonly missingRate: number;
  /** Share of the non-missing baseline rows in each bin. */
  readonly proportions: readonly number[];
}

export interface NumericBaseline extends BaselineCommon {
  readonly kind: "numeric";
  /** Upper bin edges, strictly increasing: bin i holds values ≤ edges[i] and > edges[i-1]. */
  readonly edges: readonly number[];
}

export interface CategoricalBaseline extends BaselineCommon {
  readonly kind: "categorical";
  /** Bin labels; the last one is always OTHER_CATEGORY. */
  readonly categories: readonly string[];
}

export type ColumnBaseline = NumericBaseline | CategoricalBaseline;

export interface ColumnDrift {
  readonly psi: number | null;
  readonly missingRate: { readonly baseline: number; readonly current: number; readonly change: number };
  readonly rows: { readonly baseline: number; readonly current: number };
  readonly drifted: boolean;
  readonly thresholds: DriftThresholds;
  readonly bins: readonly { readonly bin: string; readonly baseline: number; readonly current: number }[];
}

export function isNumericType(type: ColumnType): boolean {
  return type !== "String" && type !== "Boolean";
}

/** The column's values as numbers (missing → NaN) or category labels (missing → null). */
function numericValue(type: ColumnType, cell: Cell): number {
  if (cell === null || cell === undefined || cell === "") return Number.NaN;
  if (type === "Time64") return typeof cell === "number" ? cell : Date.parse(String(cell));
  return typeof cell === "number" ? cell : Number(cell);
}

function categoryValue(cell: Cell): string | null {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === "number" && Number.isNaN(cell)) return null;
  return String(cell);
}

/** numpy.quantile's default ("linear") method on sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const low = sorted[lower] as number;
  return low + (position - lower) * ((sorted[upper] as number) - low);
}

/** How many edges lie strictly below the value: its bin index. */
function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function shares(counts: readonly number[], total: number): number[] {
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

function numericCounts(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(edges, v)] = (counts[binOf(edges, v)] as number) + 1;
  return counts;
}

function categoricalCounts(categories: readonly string[], values: readonly string[]): number[] {
  const index = new Map(categories.map((c, i) => [c, i]));
  const other = categories.length - 1;
  const counts = new Array<number>(categories.length).fill(0);
  for (const v of values) {
    const i = index.get(v) ?? other;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

export function baselineOf(type: ColumnType, cells: readonly Cell[]): ColumnBaseline {
  const rows = cells.length;
  if (isNumericType(type)) {
    const present = cells.map((c) => numericValue(type, c)).filter((v) => !Number.isNaN(v));
    const sorted = [...present].sort((a, b) => a - b);
    const edges =
      sorted.length === 0
        ? []
        : [...new Set(DECILES.map((q) => quantileSorted(sorted, q)))].sort((a, b) => a - b);
    return {
      kind: "numeric",
      rows,
      missingRate: missingRate(rows, present.length),
      edges,
      proportions: shares(numericCounts(edges, present), present.length),
    };
  }
  const present = cells.map(categoryValue).filter((v): v is string => v !== null);
  const frequency = new Map<string, number>();
  for (const v of present) frequency.set(v, (frequency.get(v) ?? 0) + 1);
  const top = [...frequency.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_CATEGORIES)
    .map(([category]) => category);
  const categories = [...top, OTHER_CATEGORY];
  return {
    kind: "categorical",
    rows,
    missingRate: missingRate(rows, present.length),
    categories,
    proportions: shares(categoricalCounts(categories, present), present.length),
  };
}

/** The share of rows without a value (0 for no rows). */
function missingRate(rows: number, present: number): number {
  return rows === 0 ? 0 : (rows - present) / rows;
}

/** Σ (current − baseline) · ln(current / baseline) over the bins, shares floored at PSI_EPSILON. */
export function populationStabilityIndex(baseline: readonly number[], current: readonly number[]): number {
  let psi = 0;
  baseline.forEach((b, i) => {
    const e = Math.max(b, PSI_EPSILON);
    const a = Math.max(current[i] ?? 0, PSI_EPSILON);
    psi += (a - e) * Math.log(a / e);
  });
  return psi;
}

export function driftOf(
  type: ColumnType,
  baseline: ColumnBaseline,
  cells: readonly Cell[],
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): ColumnDrift {
  let present: number;
  let counts: number[];
  let labels: string[];
  if (baseline.kind === "numeric") {
    const values = cells.map((c) => numericValue(type, c)).filter((v) => !Number.isNaN(v));
    present = values.length;
    counts = numericCounts(baseline.edges, values);
    labels = counts.map((_, i) =>
      i === baseline.edges.length ? `> ${baseline.edges[i - 1] ?? "-inf"}` : `≤ ${baseline.edges[i]}`,
    );
  } else {
    const values = cells.map(categoryValue).filter((v): v is string => v !== null);
    present = values.length;
    counts = categoricalCounts(baseline.categories, values);
    labels = [...baseline.categories];
  }
  const current = shares(counts, present);
  const currentMissing = missingRate(cells.length, present);
  const psi =
    present === 0 || baseline.rows === 0 || baseline.missingRate === 1
      ? null
      : populationStabilityIndex(baseline.proportions, current);
  const change = currentMissing - baseline.missingRate;
  return {
    psi,
    missingRate: { baseline: baseline.missingRate, current: currentMissing, change },
    rows: { baseline: baseline.rows, current: cells.length },
    drifted: (psi !== null && psi > thresholds.psi) || Math.abs(change) > thresholds.missingRateChange,
    thresholds,
    bins: labels.map((bin, i) => ({ bin, baseline: baseline.proportions[i] ?? 0, current: current[i] ?? 0 })),
  };
}
