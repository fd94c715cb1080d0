import { describe, expect, it } from "vitest";
import { instantOption, periodOption, sparkline } from "../../client/cli/charts.ts";
import { type Metrics, renderMetrics } from "../../client/cli/commands/metrics.ts";
import { Output } from "../../client/cli/output.ts";

describe("byom deployments metrics, formatting", () => {
  it("draws a block per value from 0 to the series' maximum, blank where there was no data", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe("▁▂▃▄▅▆▇█");
    expect(sparkline([null, 4, null, 8])).toBe(" ▅ █");
    expect(sparkline([0, 0, 0])).toBe("▁▁▁");
    expect(sparkline([])).toBe("");
  });

  it("shows a long series by the maxima of its groups, within the width", () => {
    const values = Array.from({ length: 1440 }, (_, i) => (i === 700 ? 100 : 1));
    const line = sparkline(values, { width: 60 });
    expect(line).toHaveLength(60);
    expect([...line].filter((c) => c === "█")).toHaveLength(1);
  });

  it("takes times ago and durations as well as instants and seconds", () => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    expect(instantOption("90m", "from", "deployments metrics", now)).toBe("2026-12-02T10:30:00.000Z");
    expect(instantOption("2d", "from", "deployments metrics", now)).toBe("2026-11-30T12:00:00.000Z");
    expect(instantOption("2026-12-01T00:00:00Z", "from", "deployments metrics", now)).toBe(
      "2026-12-01T00:00:00Z",
    );
    expect(instantOption(undefined, "from", "deployments metrics", now)).toBeUndefined();
    expect(() => instantOption("yesterday", "from", "deployments metrics", now)).toThrow(
      /--from takes an RFC 3339 instant/,
    );
    expect(periodOption("5m", "deployments metrics")).toBe(300);
    expect(periodOption("3600", "deployments metrics")).toBe(3600);
    expect(() => periodOption("often", "deployments metrics")).toThrow(/--period takes seconds/);
  });
});

describe("byom deployments metrics, capture drops", () => {
  const traffic = (captureDropped: number): Metrics["deployment"] => {
    const totals = {
      requests: 10,
      rows: 10,
      errors4xx: 0,
      errors5xx: 0,
      latencyP50Ms: 1,
      latencyP90Ms: 2,
      latencyP99Ms: 3,
      scoringTimeP50Ms: 0.5,
      scoringTimeP99Ms: 1,
      captureDropped,
    };
    const series = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, [v]]));
    return { totals, series: series as Metrics["deployment"]["series"] };
  };
  const answer = (captureDropped: number): Metrics => ({
    deploymentId: "dep-1",
    start: "2026-12-03T00:00:00Z",
    end: "2026-12-03T00:01:00Z",
    periodSeconds: 60,
    timestamps: ["2026-12-03T00:00:00Z"],
    deployment: traffic(captureDropped),
    targets: [],
    comparison: null,
  });
  // Not a terminal: no colour codes in the text.
  const out = new Output(false, { isTTY: false } as NodeJS.WriteStream);

  it("warns when the capture writer dropped requests in the window, and only then", () => {
    expect(renderMetrics(out, answer(7))).toContain("Capture dropped 7 requests in this window");
    expect(renderMetrics(out, answer(0))).not.toContain("Capture dropped");
  });
});

describe("drift bins", () => {
  it("scale two sparklines to one maximum, so baseline and now read alike", () => {
    expect(sparkline([1, 2], { max: 4 })).toBe("▃▅");
    expect(sparkline([4, 0], { max: 4 })).toBe("█▁");
  });
});
