import { describe, expect, it } from "vitest";
import { type DriftReport, renderDrift } from "../../client/cli/commands/drift.ts";
import { Output } from "../../client/cli/output.ts";

// A non-TTY stream: no colours, so the text can be compared as is.
const plain = { isTTY: false } as NodeJS.WriteStream;

function report(samplePercent: number, rows: number): DriftReport {
  const thresholds = { psi: 0.2, missingRateChange: 0.1 };
  return {
    deploymentId: "dep-1",
    window: { start: "2026-11-26T00:00:00Z", end: "2026-12-03T00:00:00Z" },
    thresholds,
    capture: { samplePercent, baselineRows: 1000 },
    targets: [
      {
        modelId: "mdl-1",
        modelName: "houses",
        version: 1,
        role: "primary",
        baseline: { source: "reference", rows: 2000, wanted: 2000 },
        rows,
        drifted: rows > 0 ? true : null,
        columns: [
          {
            name: "sqm",
            kind: "input",
            type: "Float64",
            psi: rows > 0 ? 3.7 : null,
            missingRate: { baseline: 0, current: 0, change: 0 },
            rows: { baseline: 2000, current: rows },
            drifted: rows > 0,
            thresholds,
            bins: [{ bin: "[20, 38)", baseline: 0.1, current: rows > 0 ? 0.5 : 0 }],
          },
        ],
      },
    ],
  };
}

describe("byom deployments drift, formatting", () => {
  const render = (answer: DriftReport) => renderDrift(new Output(false, plain), answer, plain);

  it("says why a window with capture on holds no rows yet: captured requests are written in batches", () => {
    const text = render(report(100, 0));
    expect(text).toContain("0 rows in the window");
    expect(text).toMatch(
      /no captured rows in this window yet: runtimes write captured requests within ~10 s/,
    );
  });

  it("says capture is off, and how to turn it on, when it is", () => {
    const text = render(report(0, 0));
    expect(text).toMatch(/capture is off \(byom deployments capture <deployment> <percent>\)/);
    expect(text).not.toContain("within ~10 s");
  });

  it("shows a window with rows as its table only, drift marked", () => {
    const text = render(report(100, 3000));
    expect(text).toContain("3000 rows in the window");
    expect(text).toMatch(/sqm\s+input\s+Float64\s+3\.700/);
    expect(text).toMatch(/yes\s*$/m);
    expect(text).not.toContain("no captured rows");
  });
});
