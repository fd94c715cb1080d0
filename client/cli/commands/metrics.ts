import type { ResponseOf } from "../../api-client.ts";
import type { RouteOf } from "../../operations.ts";
import { instantOption, periodOption, sparkline, windowOptions } from "../charts.ts";
import { defineCommand } from "../command.ts";
import type { Output } from "../output.ts";
import { deploymentPositional, resolveDeploymentArgument } from "./deployments.ts";
import { projectOption } from "./resolve.ts";

export type Metrics = ResponseOf<RouteOf<"getDeploymentMetrics">>;
type Traffic = Metrics["deployment"];

const number = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined ? "-" : value.toFixed(digits);
const millis = (value: number | null | undefined) =>
  number(value, value !== null && value !== undefined && value < 10 ? 2 : 1);

const SERIES: readonly (readonly [keyof Traffic["series"], string])[] = [
  ["requests", "requests"],
  ["rows", "rows"],
  ["errors4xx", "4xx"],
  ["errors5xx", "5xx"],
  ["latencyP50Ms", "latency p50 ms"],
  ["latencyP99Ms", "latency p99 ms"],
];

/** The human rendering of a metrics answer: totals table, warnings, sparklines. */
export function renderMetrics(out: Output, metrics: Metrics): string {
  const scopes: { name: string; traffic: Traffic }[] = [
    { name: "deployment", traffic: metrics.deployment },
    ...metrics.targets.map((t) => ({ name: `${t.target} (${t.role})`, traffic: t })),
  ];
  const lines = [
    `${out.colour("bold", metrics.deploymentId)}  ${metrics.start} → ${metrics.end}, ${metrics.periodSeconds} s per point`,
    "",
    out.table(scopes, [
      { header: "SCOPE", value: (s) => s.name },
      { header: "REQUESTS", value: (s) => number(s.traffic.totals.requests), right: true },
      { header: "ROWS", value: (s) => number(s.traffic.totals.rows), right: true },
      { header: "4XX", value: (s) => number(s.traffic.totals.errors4xx), right: true },
      { header: "5XX", value: (s) => number(s.traffic.totals.errors5xx), right: true },
      { header: "P50 MS", value: (s) => millis(s.traffic.totals.latencyP50Ms), right: true },
      { header: "P90 MS", value: (s) => millis(s.traffic.totals.latencyP90Ms), right: true },
      { header: "P99 MS", value: (s) => millis(s.traffic.totals.latencyP99Ms), right: true },
      { header: "SCORING P50 MS", value: (s) => millis(s.traffic.totals.scoringTimeP50Ms), right: true },
    ]),
    "",
  ];
  const dropped = metrics.deployment.totals.captureDropped ?? 0;
  if (dropped > 0)
    lines.push(
      out.colour(
        "yellow",
        `Capture dropped ${number(dropped)} requests in this window: its writer fell behind (docs/monitoring.md, "Capture").`,
      ),
      "",
    );
  const charts: { name: string; values: readonly (number | null)[] }[] = [];
  for (const scope of scopes) {
    for (const [key, label] of SERIES)
      charts.push({ name: `${scope.name} ${label}`, values: scope.traffic.series[key] });
  }
  const comparison = metrics.comparison;
  if (comparison) {
    const t = comparison.totals;
    const agreement = t.agreement === null ? "-" : `${(t.agreement * 100).toFixed(1)} %`;
    lines.push(
      out.colour("bold", `Champion ${comparison.champion} vs challenger ${comparison.challenger}`),
      `  agreement ${agreement} of ${number(t.rowsCompared)} rows compared (${number(t.copies)} copies, ${number(t.failures)} failed; numbers agree within ${comparison.tolerance} relative)`,
      `  latency p50/p99 ms: champion ${millis(t.championLatencyP50Ms)}/${millis(t.championLatencyP99Ms)}, challenger ${millis(t.challengerLatencyP50Ms)}/${millis(t.challengerLatencyP99Ms)}`,
      ...Object.entries(t.meanAbsDiff).map(
        ([column, diff]) => `  mean |difference| of ${column}: ${number(diff, 6)}`,
      ),
      "",
    );
    charts.push({ name: "agreement", values: comparison.series.agreement });
    for (const [column, values] of Object.entries(comparison.series.meanAbsDiff))
      charts.push({ name: `mean |difference| ${column}`, values });
  }
  const width = Math.max(...charts.map((c) => c.name.length));
  for (const chart of charts) {
    const peak = Math.max(0, ...chart.values.filter((v): v is number => v !== null));
    lines.push(
      `${chart.name.padEnd(width)}  ${sparkline(chart.values)}  ${out.colour("dim", `max ${number(peak, Number.isInteger(peak) || peak >= 10 ? 0 : 2)}`)}`,
    );
  }
  return lines.join("\n");
}

export const deploymentsMetrics = defineCommand({
  name: "deployments metrics",
  summary: "A deployment's requests, rows, errors and latency over time, and champion vs challenger",
  description: [
    "Totals over the window in a table, then one sparkline per series (one block per period).",
    "docs/monitoring.md explains each figure. --json prints the API's answer.",
  ].join("\n"),
  positionals: [deploymentPositional],
  options: {
    ...projectOption,
    ...windowOptions("(6h); default 1h"),
    period: { type: "string", placeholder: "seconds|5m", description: "Per point, a multiple of 60 s" },
  },
  examples: [
    "byom deployments metrics churn --project fraud",
    "byom deployments metrics churn --from 1d --period 1h --json",
  ],
  async run(ctx) {
    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    const query = {
      from: instantOption(ctx.string("from"), "from", "deployments metrics"),
      to: instantOption(ctx.string("to"), "to", "deployments metrics"),
      period: periodOption(ctx.string("period"), "deployments metrics"),
    };
    const metrics = await client.call("getDeploymentMetrics", { params: { projectId, deploymentId }, query });
    ctx.out.result(metrics, () => renderMetrics(ctx.out, metrics));
  },
});
