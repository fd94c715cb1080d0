import { readFileSync } from "node:fs";
import type { ResponseOf } from "../../api-client.ts";
import { ClientError, UsageError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { instantOption, sparkline, windowOptions } from "../charts.ts";
import { defineCommand } from "../command.ts";
import { bold, dim, type Output, red } from "../output.ts";
import {
  baselineRowsOption,
  captureSettings,
  deploymentPositional,
  parseModelVersion,
  resolveDeploymentArgument,
  resolveDeploymentId,
} from "./deployments.ts";
import { resolveModel } from "./models.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";

export type DriftReport = ResponseOf<RouteOf<"getDeploymentDrift">>;
type TargetReport = DriftReport["targets"][number];

/** PSI as a bar of up to 10 cells, full at twice the threshold. */
export function psiBar(psi: number | null, threshold: number): string {
  if (psi === null) return "";
  const cells = Math.min(10, Math.round((psi / (2 * threshold)) * 10));
  return `${"█".repeat(cells)}${"·".repeat(10 - cells)}`;
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const signedPercent = (share: number) => `${share >= 0 ? "+" : ""}${(share * 100).toFixed(1)}%`;

function renderTarget(
  out: Output,
  target: TargetReport,
  capturing: boolean,
  stdout: NodeJS.WriteStream,
): string {
  const head = `${bold(stdout, `${target.modelName} v${target.version}`)} (${target.role}): baseline ${target.baseline.rows}/${target.baseline.wanted} captured rows, ${target.rows} rows in the window`;
  if (target.columns.length === 0) {
    return `${head}\n${dim(stdout, `  no drift yet: the baseline fills with the first ${target.baseline.wanted} captured rows`)}`;
  }
  const table = out.table(target.columns, [
    { header: "COLUMN", value: (c) => c.name },
    { header: "KIND", value: (c) => c.kind },
    { header: "TYPE", value: (c) => c.type },
    { header: "PSI", value: (c) => (c.psi === null ? "-" : c.psi.toFixed(3)), right: true },
    { header: "", value: (c) => psiBar(c.psi, c.thresholds.psi) },
    { header: "MISSING", value: (c) => percent(c.missingRate.current), right: true },
    { header: "Δ MISSING", value: (c) => signedPercent(c.missingRate.change), right: true },
    { header: "ROWS", value: (c) => String(c.rows.current), right: true },
    {
      header: "BINS baseline → now",
      value: (c) => {
        const max = Math.max(...c.bins.map((b) => Math.max(b.baseline, b.current)));
        const bins = (side: "baseline" | "current") =>
          sparkline(
            c.bins.map((b) => b[side]),
            { max },
          );
        return `${bins("baseline")} → ${bins("current")}`;
      },
    },
    { header: "DRIFTED", value: (c) => (c.drifted ? red(stdout, "yes") : "no") },
  ]);
  if (target.rows > 0) return `${head}\n${table}`;
  // Runtimes write captured requests in batches (docs/monitoring.md): rows scored a moment ago
  // are not in the window yet, and a person who just scored some needs to know why.
  const hint = capturing
    ? "no captured rows in this window yet: runtimes write captured requests within ~10 s (BYOM_CAPTURE_FLUSH_SECONDS); score some rows, wait, or widen --from"
    : "no captured rows in this window: capture is off (byom deployments capture <deployment> <percent>)";
  return `${head}\n${table}\n${dim(stdout, `  ${hint}`)}`;
}

/** The drift answer for people: the window, then each target's table. */
export function renderDrift(out: Output, report: DriftReport, stdout: NodeJS.WriteStream): string {
  const capturing = report.capture.samplePercent > 0;
  const lines = [
    `Drift from ${report.window.start} to ${report.window.end} (capture ${report.capture.samplePercent}%; drifted: PSI > ${report.thresholds.psi} or missing rate moved by > ${percent(report.thresholds.missingRateChange)})`,
    ...report.targets.map((t) => renderTarget(out, t, capturing, stdout)),
  ];
  if (report.targets.length === 0) lines.push(dim(stdout, "(nothing serves this deployment yet)"));
  return lines.join("\n\n");
}

export const deploymentsDrift = defineCommand({
  name: "deployments drift",
  summary: "Drift of a deployment's inputs and outputs against each version's baseline",
  description: [
    "Per column: the population stability index (PSI) against the baseline's deciles or categories,",
    "the missing rate and its change, and whether it drifted (PSI or missing-rate change over the",
    "thresholds shown). Needs capture on: byom deployments capture <deployment> <percent>.",
    "docs/monitoring.md explains every figure.",
  ].join("\n"),
  positionals: [deploymentPositional],
  options: {
    ...projectOption,
    ...windowOptions("(2d); default 7 days ago"),
  },
  examples: ["byom deployments drift churn-v1 --project fraud --from 2026-12-01T00:00:00Z"],
  async run(ctx) {
    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    const from = instantOption(ctx.string("from"), "from", "deployments drift");
    const to = instantOption(ctx.string("to"), "to", "deployments drift");
    const report = await client.call("getDeploymentDrift", {
      params: { projectId, deploymentId },
      query: { ...(from ? { from } : {}), ...(to ? { to } : {}) },
    });
    ctx.out.result(report, () => renderDrift(ctx.out, report, process.stdout));
  },
});

export const deploymentsCapture = defineCommand({
  name: "deployments capture",
  summary: "Capture a share of a deployment's score requests (0 turns capture off)",
  description:
    "Starts a new revision whose runtimes write that share of requests with their answers (docs/monitoring.md).",
  positionals: [deploymentPositional, { name: "percent", description: "0 to 100" }],
  options: {
    ...projectOption,
    ...baselineRowsOption,
  },
  examples: ["byom deployments capture churn-v1 10 --project fraud"],
  async run(ctx) {
    const [deploymentArg, percentArg] = ctx.positionals as string[];
    const capture = captureSettings(
      percentArg,
      ctx.string("baseline-rows"),
      "deployments capture",
      "percent",
    );
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const deploymentId = await resolveDeploymentId(client, projectId, deploymentArg as string);
    const updating = await client.call("updateDeployment", {
      params: { projectId, deploymentId },
      body: { capture },
    });
    ctx.out.result(
      updating,
      () =>
        `Deployment ${updating.name}: revision ${updating.revision} captures ${updating.capture.samplePercent}% of requests once it serves.`,
    );
  },
});

export const modelsReference = defineCommand({
  name: "models reference",
  summary: "Attach a CSV or Parquet reference dataset to a model version: its drift baseline",
  description: [
    "The file's columns are named as the version's schema (inputs, and outputs if you have them).",
    "Attaching again replaces it. docs/monitoring.md explains how drift uses it.",
  ].join("\n"),
  positionals: [
    { name: "model@version", description: "e.g. churn@2 (model name or id)" },
    { name: "file", description: "a .csv (header row of column names) or .parquet file" },
  ],
  options: { ...projectOption },
  examples: ["byom models reference churn@2 training-sample.csv --project fraud"],
  async run(ctx) {
    const [spec, file] = ctx.positionals as string[];
    if (!spec || !file) throw new UsageError("Give model@version and the file.", "models reference");
    const format = /\.parquet$/i.test(file) ? "parquet" : /\.csv$/i.test(file) ? "csv" : undefined;
    if (!format) throw new UsageError(`'${file}' is neither a .csv nor a .parquet file.`, "models reference");
    const bytes = readFileSync(file);
    const { model, version } = parseModelVersion(spec);
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const { modelId } = await resolveModel(client, projectId, model);
    const attached = await client.call("attachReferenceDataset", {
      params: { projectId, modelId, version },
      body: { format, sizeBytes: bytes.length },
    });
    const put = await fetch(attached.upload.url, {
      method: "PUT",
      headers: attached.upload.headers,
      body: bytes,
    });
    if (!put.ok)
      throw new ClientError(`The upload of ${file} failed: HTTP ${put.status} ${await put.text()}`);
    ctx.out.result(
      attached,
      () =>
        `Attached ${file} (${bytes.length} bytes, ${format}) to ${model}@${version} as its drift baseline.`,
    );
  },
});
