import type { ResponseOf } from "../../api-client.ts";
import { UsageError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { defineCommand } from "../command.ts";
import type { Output } from "../output.ts";
import { resolveDeploymentId } from "./deployments.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";

type Metrics = ResponseOf<RouteOf<"getDeploymentMetrics">>;
type Traffic = Metrics["deployment"];

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+)([smhd])$/;
const BLOCKS = "▁▂▃▄▅▆▇█";
/** A sparkline is at most this many characters: longer series are shown by their groups' maxima. */
const SPARK_WIDTH = 60;

/** `--from 6h` (six hours ago) or an RFC 3339 instant, as the API takes it. */
export function instantOption(value: string | undefined, name: string, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const relative = DURATION.exec(value);
  if (relative)
    return new Date(now - Number(relative[1]) * (UNITS[relative[2] as string] ?? 1) * 1000).toISOString();
  if (Number.isNaN(Date.parse(value)))
    throw new UsageError(
      `--${name} takes an RFC 3339 instant (2026-12-02T10:00:00Z) or a time ago (90m, 6h, 2d), not '${value}'.`,
      "deployments metrics",
    );
  return value;
}

/** `--period 300` or `5m`. */
export function periodOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const relative = DURATION.exec(value);
  const seconds = relative ? Number(relative[1]) * (UNITS[relative[2] as string] ?? 1) : Number(value);
  if (!Number.isInteger(seconds))
    throw new UsageError(
      `--period takes seconds (300) or a duration (5m, 1h), not '${value}'.`,
      "deployments metrics",
    );
  return seconds;
}

/** A unicode block per value, scaled from 0 to the series' maximum; a blank where there was no data. */
export function sparkline(values: readonly (number | null)[], width = SPARK_WIDTH): string {
  const groups = Math.ceil(values.length / width) || 1;
  const points: (number | null)[] = [];
  for (let i = 0; i < values.length; i += groups) {
    const group = values.slice(i, i + groups).filter((v): v is number => v !== null);
    points.push(group.length ? Math.max(...group) : null);
  }
  const max = Math.max(0, ...points.filter((v): v is number => v !== null));
  return points
    .map((v) => {
      if (v === null) return " ";
      if (max === 0) return BLOCKS[0];
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor((v / max) * (BLOCKS.length - 1) + 0.5))];
    })
    .join("");
}

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

function render(out: Output, metrics: Metrics): string {
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
  positionals: [{ name: "deployment", description: "deployment id or name" }],
  options: {
    ...projectOption,
    from: {
      type: "string",
      placeholder: "instant|ago",
      description: "Start: RFC 3339 or a time ago (6h); default 1h",
    },
    to: {
      type: "string",
      placeholder: "instant|ago",
      description: "End: RFC 3339 or a time ago; default now",
    },
    period: { type: "string", placeholder: "seconds|5m", description: "Per point, a multiple of 60 s" },
  },
  examples: [
    "byom deployments metrics churn --project fraud",
    "byom deployments metrics churn --from 1d --period 1h --json",
  ],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const deploymentId = await resolveDeploymentId(client, projectId, ctx.positionals[0] as string);
    const query = {
      from: instantOption(ctx.string("from"), "from"),
      to: instantOption(ctx.string("to"), "to"),
      period: periodOption(ctx.string("period")),
    };
    const metrics = await client.call("getDeploymentMetrics", { params: { projectId, deploymentId }, query });
    ctx.out.result(metrics, () => render(ctx.out, metrics));
  },
});
