/**
 * The port between the metrics answer and where metrics live: CloudWatch on AWS (GetMetricData),
 * the data folder in local mode. Both take the same requests and give the same shape: one value (or
 * null when there was no data) per period of the window, so the answer cannot depend on the mode.
 */

/** Where the runtimes' embedded-metric-format lines put their metrics (runtime-images/python/byom_scorer/metrics.py). */
export const METRICS_NAMESPACE = "Byom/Scoring";

/** CloudWatch's statistic names; pNN read from the runtimes' latency histograms. */
export type Stat = "Sum" | "Average" | "SampleCount" | "p50" | "p90" | "p99";

export interface MetricRequest {
  /** Unique in one read; CloudWatch's query id rules: a lower-case letter, then letters, digits, _. */
  readonly id: string;
  readonly name: string;
  /** Exactly the dimensions the metric was emitted with (a metric is one dimension combination). */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: Stat;
}

export interface MetricsWindow {
  /** Both whole multiples of the period since the epoch. */
  readonly start: Date;
  readonly end: Date;
  readonly periodSeconds: number;
}

export interface MetricsSource {
  /** Per request id: one value per period of the window, oldest first; null where there was no data. */
  read(requests: readonly MetricRequest[], window: MetricsWindow): Promise<Map<string, (number | null)[]>>;
}

export const periodsOf = (window: MetricsWindow) =>
  Math.round((window.end.getTime() - window.start.getTime()) / (window.periodSeconds * 1000));

/** The index of the period a timestamp falls in, or -1 outside the window. */
export function periodIndex(window: MetricsWindow, at: number): number {
  const index = Math.floor((at - window.start.getTime()) / (window.periodSeconds * 1000));
  return index >= 0 && index < periodsOf(window) ? index : -1;
}
