import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ColumnType } from "#lambdas/experiments/schema-rules.ts";
import {
  baselineOf,
  type Cell,
  DEFAULT_DRIFT_THRESHOLDS,
  driftOf,
  OTHER_CATEGORY,
  quantileSorted,
} from "#lambdas/monitoring/drift.ts";
import { run } from "#local/processes.ts";
import { mlflowVenv } from "../support/artifacts.ts";
import { REPO_ROOT } from "../support/platform.ts";
import { seededRandom } from "../support/seeded-random.ts";

function normals(seed: number, n: number, mean: number, sd: number, missingRate = 0): (number | null)[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    if (r() < missingRate) return null;
    const u = 1 - r();
    const v = r();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

function categories(seed: number, n: number, weights: Record<string, number>): string[] {
  const r = seededRandom(seed);
  const entries = Object.entries(weights);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: n }, () => {
    let x = r() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return (entries.at(-1) as [string, number])[0];
  });
}

interface Case {
  readonly name: string;
  readonly type: ColumnType;
  readonly baseline: Cell[];
  readonly current: Cell[];
  readonly drifts: boolean;
}

const manyCities = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`city${i}`, 30 - i]));
const CASES: Case[] = [
  {
    name: "same normal",
    type: "Float64",
    baseline: normals(1, 5000, 0, 1),
    current: normals(2, 5000, 0, 1),
    drifts: false,
  },
  {
    name: "mean moved by one sd",
    type: "Float64",
    baseline: normals(3, 5000, 0, 1),
    current: normals(4, 5000, 1, 1),
    drifts: true,
  },
  {
    name: "integers with ties",
    type: "Int32",
    baseline: normals(5, 4000, 3, 1).map((v) => (v === null ? null : Math.round(v))),
    current: normals(6, 4000, 3, 1).map((v) => (v === null ? null : Math.round(v))),
    drifts: false,
  },
  {
    name: "missing values appear",
    type: "Float32",
    baseline: normals(7, 3000, 10, 2, 0.01),
    current: normals(8, 3000, 10, 2, 0.3),
    drifts: true,
  },
  {
    name: "same categories",
    type: "String",
    baseline: categories(9, 5000, manyCities),
    current: categories(10, 5000, manyCities),
    drifts: false,
  },
  {
    name: "categories shift",
    type: "String",
    baseline: categories(11, 5000, { a: 5, b: 3, c: 2 }),
    current: categories(12, 5000, { a: 2, b: 3, c: 2, d: 3 }),
    drifts: true,
  },
];

describe("column drift", () => {
  it("computes quantiles as numpy's linear method does", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1)).toBeCloseTo(1.9, 12);
    expect(quantileSorted([7], 0.9)).toBe(7);
  });

  it("puts categories outside the baseline's top 20 into the other bucket", () => {
    const baseline = baselineOf("String", categories(13, 2000, manyCities));
    expect(baseline.kind).toBe("categorical");
    if (baseline.kind !== "categorical") return;
    expect(baseline.categories).toHaveLength(21);
    expect(baseline.categories.at(-1)).toBe(OTHER_CATEGORY);
    expect(baseline.categories).not.toContain("city29");
    const drift = driftOf("String", baseline, ["never-seen", "never-seen", "city0"]);
    expect(drift.bins.at(-1)?.current).toBeCloseTo(2 / 3, 12);
  });

  it("treats booleans as categories and unparseable times as missing", () => {
    const booleans = driftOf("Boolean", baselineOf("Boolean", [true, false, true, null]), [false, false]);
    expect(booleans.missingRate.baseline).toBe(0.25);
    expect(booleans.bins.map((b) => b.bin)).toEqual(["true", "false", OTHER_CATEGORY]);
    const times = baselineOf("Time64", ["2026-01-01T00:00:00Z", "not a time", "2026-02-01T00:00:00Z"]);
    expect(times.missingRate).toBeCloseTo(1 / 3, 12);
  });

  it("has no PSI, and flags only the missing rate, when the current window has no values", () => {
    const drift = driftOf("Float64", baselineOf("Float64", [1, 2, 3]), [null, null]);
    expect(drift.psi).toBeNull();
    expect(drift.missingRate.change).toBe(1);
    expect(drift.drifted).toBe(true);
  });

  it("matches an independent numpy computation and flags only the data drawn to drift", async () => {
    const venv = await mlflowVenv();
    const input = {
      columns: CASES.map((c) => ({
        kind: c.type === "String" || c.type === "Boolean" ? "categorical" : "numeric",
        baseline: c.baseline,
        current: c.current,
      })),
    };
    const script = `${REPO_ROOT}/test/fixtures/drift_reference.py`;
    const file = `${REPO_ROOT}/.byom/drift-input-${process.pid}.json`;
    mkdirSync(`${REPO_ROOT}/.byom`, { recursive: true });
    writeFileSync(file, JSON.stringify(input));
    let reference: { psi: number; missingBaseline: number; missingCurrent: number }[];
    try {
      reference = JSON.parse(await run("sh", ["-c", `"${venv.python}" "${script}" < "${file}"`]));
    } finally {
      rmSync(file, { force: true });
    }
    CASES.forEach((c, i) => {
      const drift = driftOf(c.type, baselineOf(c.type, c.baseline), c.current);
      const expected = reference[i];
      expect(drift.psi, c.name).toBeCloseTo(expected?.psi as number, 9);
      expect(drift.missingRate.baseline, c.name).toBeCloseTo(expected?.missingBaseline as number, 12);
      expect(drift.missingRate.current, c.name).toBeCloseTo(expected?.missingCurrent as number, 12);
      expect(drift.drifted, `${c.name}: psi ${drift.psi}`).toBe(c.drifts);
      expect(drift.thresholds).toEqual(DEFAULT_DRIFT_THRESHOLDS);
    });
  }, 600_000);
});
