import { DeploymentNotFoundError } from "#lambdas/deployments/api/deployment-not-found.ts";
import {
  DEFAULT_CAPTURE,
  modelIdOf,
  type ResolvedTarget,
  type SchemaColumnRef,
} from "#lambdas/deployments/deployment-record.ts";
import { getDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { ColumnType } from "#lambdas/experiments/schema-rules.ts";
import { type CapturedRequest, CaptureStore } from "#lambdas/monitoring/capture-store.ts";
import {
  baselineOf,
  type Cell,
  type ColumnDrift,
  DEFAULT_DRIFT_THRESHOLDS,
  type DriftThresholds,
  driftOf,
} from "#lambdas/monitoring/drift.ts";
import { referenceColumns } from "#lambdas/monitoring/reference-dataset.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ValidationFailedError } from "#lambdas/shared/errors.ts";

/**
 * The drift answer of a deployment (docs/monitoring.md): per target it serves, each input column of
 * the version's schema and each output compared with the version's baseline, the first
 * `baselineRows` rows captured for that version; the window's rows exclude them.
 */
export const DEFAULT_WINDOW_DAYS = 7;

export interface DriftWindow {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

export interface ColumnReport extends ColumnDrift {
  readonly name: string;
  readonly kind: "input" | "output";
  readonly type: ColumnType;
}

export interface TargetReport {
  readonly modelId: string;
  readonly modelName: string;
  readonly version: number;
  readonly role: ResolvedTarget["role"];
  readonly baseline: {
    readonly source: "reference" | "captured";
    readonly rows: number;
    readonly wanted: number;
  };
  /** Rows captured in the window (after the baseline's). */
  readonly rows: number;
  /** Null when there is nothing to compare yet: no baseline, or no rows in the window. */
  readonly drifted: boolean | null;
  readonly columns: readonly ColumnReport[];
}

export interface DriftReport {
  readonly deploymentId: string;
  readonly window: { readonly start: string; readonly end: string };
  readonly thresholds: DriftThresholds;
  readonly capture: { readonly samplePercent: number; readonly baselineRows: number };
  readonly targets: readonly TargetReport[];
}

export async function deploymentDrift(
  caller: Caller,
  projectId: string,
  deploymentId: string,
  window: DriftWindow,
  store = new CaptureStore(),
): Promise<DriftReport> {
  await authorize(caller, projectId, "viewer");
  const { from, to } = windowOf(window);
  const record = await getDeployment(projectId, deploymentId);
  if (!record) throw new DeploymentNotFoundError(projectId, deploymentId);
  const capture = record.capture ?? DEFAULT_CAPTURE;
  const seen = new Set<string>();
  const targets: TargetReport[] = [];
  for (const { target } of record.slots) {
    const name = modelIdOf(target);
    if (seen.has(name)) continue;
    seen.add(name);
    const reference = await referenceColumns(projectId, target.modelId, target.version);
    targets.push(
      await targetDrift(
        store,
        deploymentId,
        target,
        capture.baselineRows,
        from,
        to,
        reference && fromReference(reference),
      ),
    );
  }
  return {
    deploymentId,
    window: { start: from.toISOString(), end: to.toISOString() },
    thresholds: DEFAULT_DRIFT_THRESHOLDS,
    capture,
    targets,
  };
}

function windowOf(window: DriftWindow): { from: Date; to: Date } {
  const to = window.to ? new Date(window.to) : new Date();
  const from = window.from
    ? new Date(window.from)
    : new Date(to.getTime() - DEFAULT_WINDOW_DAYS * 86_400_000);
  for (const [name, value] of [
    ["from", from],
    ["to", to],
  ] as const) {
    if (Number.isNaN(value.getTime()))
      throw new ValidationFailedError(`${name} must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z.`, [
        { path: `query.${name}`, message: "not a time" },
      ]);
  }
  if (from >= to)
    throw new ValidationFailedError("from must be before to.", [
      { path: "query.from", message: "not before to" },
    ]);
  return { from, to };
}

const day = (time: Date) => time.toISOString().slice(0, 10);

/** Captured columns being gathered: values appended request by request. */
class Columns {
  rows = 0;
  readonly values = { input: new Map<string, Cell[]>(), output: new Map<string, Cell[]>() };

  add(request: Pick<CapturedRequest, "input" | "output" | "rows">, from = 0, to = request.rows): void {
    for (const part of ["input", "output"] as const) {
      for (const [name, values] of Object.entries(request[part])) {
        let column = this.values[part].get(name);
        if (!column) {
          // A column first seen now was missing in the rows before.
          column = new Array<Cell>(this.rows).fill(null);
          this.values[part].set(name, column);
        }
        for (let i = from; i < to; i++) column.push(values[i] as Cell);
      }
    }
    this.rows += to - from;
    for (const part of ["input", "output"] as const)
      for (const column of this.values[part].values()) while (column.length < this.rows) column.push(null);
  }

  has(kind: "input" | "output", name: string): boolean {
    return this.values[kind].has(name);
  }

  cells(kind: "input" | "output", name: string): Cell[] {
    return this.values[kind].get(name) ?? new Array<Cell>(this.rows).fill(null);
  }
}

export async function targetDrift(
  store: CaptureStore,
  deploymentId: string,
  target: ResolvedTarget,
  baselineRows: number,
  from: Date,
  to: Date,
  /** The version's reference dataset: the baseline, and every captured row in the window is compared. */
  reference?: Columns,
): Promise<TargetReport> {
  const name = modelIdOf(target);
  const files = await store.files(deploymentId, name);
  const baseline = reference ?? new Columns();
  const wanted = reference ? reference.rows : baselineRows;
  const current = new Columns();
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  for (const file of files) {
    const inWindow = file.day >= day(from) && file.day <= day(to);
    if ((reference || baseline.rows >= baselineRows) && !inWindow) continue;
    for (const request of await store.requests(deploymentId, name, file)) {
      // The first baselineRows rows are the baseline (a request may be split between the two).
      const toBaseline = reference ? 0 : Math.min(request.rows, Math.max(0, baselineRows - baseline.rows));
      if (toBaseline > 0) baseline.add(request, 0, toBaseline);
      if (toBaseline < request.rows && request.at >= fromIso && request.at < toIso)
        current.add(request, toBaseline);
    }
  }
  const complete = baseline.rows >= wanted && baseline.rows > 0;
  const columns = complete ? columnReports(target, baseline, current, reference !== undefined) : [];
  return {
    modelId: target.modelId,
    modelName: target.modelName,
    version: target.version,
    role: target.role,
    baseline: { source: reference ? "reference" : "captured", rows: baseline.rows, wanted },
    rows: current.rows,
    drifted: complete && current.rows > 0 ? columns.some((c) => c.drifted) : null,
    columns,
  };
}

/** A reference dataset without some column (often the outputs) leaves that column out. */
function columnReports(
  target: ResolvedTarget,
  baseline: Columns,
  current: Columns,
  fromReference: boolean,
): ColumnReport[] {
  const report = (kind: "input" | "output", column: SchemaColumnRef): ColumnReport => {
    const type = column.type as ColumnType;
    return {
      name: column.name,
      kind,
      type,
      ...driftOf(type, baselineOf(type, baseline.cells(kind, column.name)), current.cells(kind, column.name)),
    };
  };
  const compared = (kind: "input" | "output") => (c: SchemaColumnRef) =>
    !fromReference || baseline.has(kind, c.name);
  return [
    ...target.inputSchema.filter(compared("input")).map((c) => report("input", c)),
    ...outputColumns(target, baseline)
      .filter(compared("output"))
      .map((c) => report("output", c)),
  ];
}

/** The output schema, or (a model registered without one) the outputs the baseline carries. */
function outputColumns(target: ResolvedTarget, baseline: Columns): SchemaColumnRef[] {
  if (target.outputSchema?.length) return [...target.outputSchema];
  return [...baseline.values.output.entries()].map(([name, values]) => {
    const value = values.find((v) => v !== null && v !== undefined);
    return {
      name,
      type: typeof value === "number" ? "Float64" : typeof value === "boolean" ? "Boolean" : "String",
    };
  });
}

/**
 * A reference dataset as baseline columns: inputs and outputs by name (a file holds both, or only
 * the inputs). CSV booleans may be written True/False.
 */
function fromReference(reference: { rows: number; columns: Map<string, unknown[]> }): Columns {
  const columns = new Map(
    [...reference.columns].map(([name, values]) => [
      name,
      values.map((v) =>
        typeof v === "string" && /^(true|false)$/i.test(v) ? v.toLowerCase() === "true" : v,
      ),
    ]),
  );
  const all = Object.fromEntries(columns);
  const baseline = new Columns();
  baseline.add({ rows: reference.rows, input: all, output: all });
  return baseline;
}
