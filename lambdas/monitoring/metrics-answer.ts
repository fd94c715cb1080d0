/**
 * A deployment's metrics answer (docs/monitoring.md): series per period and totals over the window,
 * for the deployment's user traffic, for each target it serves now, and for a champion/challenger
 * deployment how the challenger compares with the champion. Read through a MetricsSource, so local
 * mode and AWS give the same shape.
 */
import { type DeploymentRecord, modelIdOf, type Slot } from "#lambdas/deployments/deployment-record.ts";
import { ValidationFailedError } from "#lambdas/shared/errors.ts";
import type { MetricRequest, MetricsSource, MetricsWindow, Stat } from "./metrics-source.ts";

/** Numbers in the two answers agree within this, relative to max(1, |a|, |b|) (the runtime's BYOM_SHADOW_TOLERANCE default). */
export const SHADOW_TOLERANCE = 1e-6;
export const MAX_PERIODS = 1440;
const DEFAULT_RANGE_MS = 3600_000;
const DAY_MS = 86_400_000;

/** Each series: [name in the answer, CloudWatch metric, statistic]. Counts are 0, not null, in a quiet period. */
const TRAFFIC = [
  ["requests", "Requests", "Sum"],
  ["rows", "Rows", "Sum"],
  ["errors4xx", "Errors4xx", "Sum"],
  ["errors5xx", "Errors5xx", "Sum"],
  ["latencyP50Ms", "Latency", "p50"],
  ["latencyP90Ms", "Latency", "p90"],
  ["latencyP99Ms", "Latency", "p99"],
  ["scoringTimeP50Ms", "ScoringTime", "p50"],
  ["scoringTimeP99Ms", "ScoringTime", "p99"],
  ["captureDropped", "CaptureDropped", "Sum"],
] as const satisfies readonly (readonly [string, string, Stat])[];
const COMPARISON = [
  ["copies", "ShadowCopies", "Sum"],
  ["failures", "ShadowFailures", "Sum"],
  ["rowsCompared", "ShadowRowsCompared", "Sum"],
  ["rowsAgreed", "ShadowRowsAgreed", "Sum"],
  ["championLatencyP50Ms", "ShadowChampionLatency", "p50"],
  ["championLatencyP99Ms", "ShadowChampionLatency", "p99"],
  ["challengerLatencyP50Ms", "ShadowChallengerLatency", "p50"],
  ["challengerLatencyP99Ms", "ShadowChallengerLatency", "p99"],
] as const satisfies readonly (readonly [string, string, Stat])[];

type TrafficKey = (typeof TRAFFIC)[number][0];
type ComparisonKey = (typeof COMPARISON)[number][0] | "agreement";
type Figures<K extends string> = Record<K, number | null>;
type Series<K extends string> = Record<K, (number | null)[]>;

export interface TrafficMetrics {
  readonly totals: Figures<TrafficKey>;
  readonly series: Series<TrafficKey>;
}

export interface TargetMetrics extends TrafficMetrics {
  /** The runtime's MODEL_ID, `<modelId>-v<version>`: the Target dimension. */
  readonly target: string;
  readonly modelId: string;
  readonly version: number;
  readonly role: Slot["target"]["role"];
}

export interface ComparisonMetrics {
  readonly champion: string;
  readonly challenger: string;
  readonly tolerance: number;
  readonly totals: Figures<ComparisonKey> & { readonly meanAbsDiff: Record<string, number | null> };
  readonly series: Series<ComparisonKey> & { readonly meanAbsDiff: Record<string, (number | null)[]> };
}

export interface DeploymentMetrics {
  readonly deploymentId: string;
  readonly start: string;
  readonly end: string;
  readonly periodSeconds: number;
  /** The start of each period; every series has one value per period. */
  readonly timestamps: string[];
  readonly deployment: TrafficMetrics;
  readonly targets: TargetMetrics[];
  readonly comparison: ComparisonMetrics | null;
}

export interface WindowInput {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly period?: number | undefined;
}

/**
 * The window asked for, widened to whole periods. Defaults: the last hour, and the smallest whole
 * minute period that keeps it within 60 points. CloudWatch keeps 1-minute data 15 days, 5-minute
 * data 63 days and hourly data 455 days: an older window needs a period as coarse as what is kept.
 */
export function metricsWindow(input: WindowInput, now: Date = new Date()): MetricsWindow {
  const invalid = (path: string, message: string) => new ValidationFailedError(message, [{ path, message }]);
  const to = input.to ? Date.parse(input.to) : now.getTime();
  // The default hour ends at the next whole minute, so that it is exactly 60 one-minute points.
  const from = input.from ? Date.parse(input.from) : Math.ceil(to / 60_000) * 60_000 - DEFAULT_RANGE_MS;
  if (!(from < to)) throw invalid("query.from", "from must be before to (both RFC 3339 instants).");
  const age = now.getTime() - from;
  if (age > 455 * DAY_MS)
    throw invalid("query.from", "CloudWatch keeps metrics for 455 days: choose a later from.");
  const coarsest = age > 63 * DAY_MS ? 3600 : age > 15 * DAY_MS ? 300 : 60;
  const period = input.period ?? Math.max(coarsest, Math.ceil((to - from) / 60 / 60_000) * 60);
  if (period % coarsest !== 0)
    throw invalid(
      "query.period",
      `Metrics older than ${coarsest === 3600 ? 63 : 15} days are kept at ${coarsest} s: period must be a multiple of ${coarsest}.`,
    );
  const periodMs = period * 1000;
  const start = Math.floor(from / periodMs) * periodMs;
  const end = Math.ceil(to / periodMs) * periodMs;
  if ((end - start) / periodMs > MAX_PERIODS)
    throw invalid(
      "query.period",
      `The window holds ${(end - start) / periodMs} periods of ${period} s; at most ${MAX_PERIODS}: choose a larger period or a shorter window.`,
    );
  return { start: new Date(start), end: new Date(end), periodSeconds: period };
}

/** The answer for a deployment record over a window, from either source. */
export async function readMetrics(
  record: DeploymentRecord,
  window: MetricsWindow,
  source: MetricsSource,
): Promise<DeploymentMetrics> {
  const { deploymentId } = record;
  const requests: MetricRequest[] = [];
  const ask = (name: string, dimensions: Record<string, string>, stat: Stat) => {
    const id = `q${requests.length}`;
    requests.push({ id, name, dimensions, stat });
    return id;
  };
  const trafficIds = (dimensions: Record<string, string>) =>
    TRAFFIC.map(([key, name, stat]) => [key, ask(name, dimensions, stat)] as const);

  const deploymentQueries = trafficIds({ DeploymentId: deploymentId });
  const slots = record.slots;
  const targetQueries = slots.map((slot) => ({
    slot,
    ids: trafficIds({ DeploymentId: deploymentId, Target: modelIdOf(slot.target) }),
  }));
  const champion = slots.find((s) => s.target.role === "champion");
  const challenger = slots.find((s) => s.target.role === "challenger");
  const outputs = (champion?.target.outputSchema ?? []).map((c) => c.name);
  const comparisonQueries =
    champion && challenger
      ? {
          ids: COMPARISON.map(
            ([key, name, stat]) => [key, ask(name, { DeploymentId: deploymentId }, stat)] as const,
          ),
          diffs: outputs.map(
            (column) =>
              [
                column,
                ask("ShadowAbsDiff", { DeploymentId: deploymentId, Output: column }, "Average"),
              ] as const,
          ),
        }
      : undefined;

  // The same requests twice: per period for the series, and over the whole window for the totals
  // (a percentile of the window cannot be computed from the periods' percentiles).
  const whole: MetricsWindow = {
    ...window,
    periodSeconds: (window.end.getTime() - window.start.getTime()) / 1000,
  };
  const [series, totals] = await Promise.all([source.read(requests, window), source.read(requests, whole)]);
  const periods = Math.round((window.end.getTime() - window.start.getTime()) / (window.periodSeconds * 1000));
  const seriesOf = (id: string, count: boolean) =>
    (series.get(id) ?? new Array(periods).fill(null)).map((v) => (v === null && count ? 0 : v));
  const totalOf = (id: string, count: boolean) => totals.get(id)?.[0] ?? (count ? 0 : null);

  const traffic = (ids: readonly (readonly [TrafficKey, string])[]): TrafficMetrics => {
    const isCount = (key: string) => !key.endsWith("Ms");
    return {
      totals: Object.fromEntries(
        ids.map(([key, id]) => [key, totalOf(id, isCount(key))]),
      ) as Figures<TrafficKey>,
      series: Object.fromEntries(
        ids.map(([key, id]) => [key, seriesOf(id, isCount(key))]),
      ) as Series<TrafficKey>,
    };
  };

  let comparison: ComparisonMetrics | null = null;
  if (comparisonQueries && champion && challenger) {
    const isCount = (key: string) => !key.endsWith("Ms");
    const totalsFigures = Object.fromEntries(
      comparisonQueries.ids.map(([key, id]) => [key, totalOf(id, isCount(key))]),
    ) as Figures<ComparisonKey>;
    const seriesFigures = Object.fromEntries(
      comparisonQueries.ids.map(([key, id]) => [key, seriesOf(id, isCount(key))]),
    ) as Series<ComparisonKey>;
    totalsFigures.agreement = share(totalsFigures.rowsAgreed, totalsFigures.rowsCompared);
    seriesFigures.agreement = seriesFigures.rowsAgreed.map((agreed, i) =>
      share(agreed, seriesFigures.rowsCompared[i] ?? null),
    );
    comparison = {
      champion: modelIdOf(champion.target),
      challenger: modelIdOf(challenger.target),
      tolerance: SHADOW_TOLERANCE,
      totals: {
        ...totalsFigures,
        meanAbsDiff: Object.fromEntries(
          comparisonQueries.diffs.map(([column, id]) => [column, totalOf(id, false)]),
        ),
      },
      series: {
        ...seriesFigures,
        meanAbsDiff: Object.fromEntries(
          comparisonQueries.diffs.map(([column, id]) => [column, seriesOf(id, false)]),
        ),
      },
    };
  }

  const timestamps = Array.from({ length: periods }, (_, i) =>
    new Date(window.start.getTime() + i * window.periodSeconds * 1000).toISOString(),
  );
  return {
    deploymentId,
    start: window.start.toISOString(),
    end: window.end.toISOString(),
    periodSeconds: window.periodSeconds,
    timestamps,
    deployment: traffic(deploymentQueries),
    targets: targetQueries.map(({ slot, ids }) => ({
      target: modelIdOf(slot.target),
      modelId: slot.target.modelId,
      version: slot.target.version,
      role: slot.target.role,
      ...traffic(ids),
    })),
    comparison,
  };
}

const share = (part: number | null, whole: number | null) =>
  part !== null && whole !== null && whole > 0 ? part / whole : null;
