import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { runCli } from "../support/cli.ts";
import { score, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

/**
 * Metrics in local mode, end to end: real models deployed by the real workflow, scored through the
 * local router, their runtimes' EMF lines kept in the data folder, read back through the API and
 * the CLI (docs/monitoring.md).
 */
useServingFixture("metrics", {
  // Metric lines every second instead of every 10: the test waits for them.
  env: { BYOM_LOCAL_METRICS_INTERVAL_SECONDS: "1" },
  versions: ["v1", "v2"],
});

const metricsOf = async (deploymentId: string, query = "") =>
  platform.api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}/metrics${query}`);

const deploy = async (body: Record<string, unknown>) => {
  const created = await platform.api.call("POST", `/v1/projects/${projectId}/deployments`, body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const live = await waitForStatus(
    platform.api,
    projectId,
    created.body.deploymentId,
    ["HEALTHY", "FAILED"],
    400_000,
  );
  expect(live.status, JSON.stringify(live)).toBe("HEALTHY");
  return live;
};

const sum = (values: readonly (number | null)[]) => values.reduce<number>((a, v) => a + (v ?? 0), 0);

describe("deployment metrics in local mode", () => {
  it("counts requests, rows and errors per target and reads percentiles, through the API and the CLI", async () => {
    const single = await deploy({ name: "metered", mode: "single", targets: [{ modelId, version: 1 }] });
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const good = 15;
    const bad = 3;
    for (let i = 0; i < good; i++) expect((await score(single.endpointUrl, request)).status).toBe(200);
    for (let i = 0; i < bad; i++)
      expect((await score(single.endpointUrl, { fields: ["nope"], rows: [[1]] })).status).toBe(400);

    const metrics = await waitFor(
      "all requests in the metrics",
      async () => {
        const answer = await metricsOf(single.deploymentId);
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        return answer.body.deployment.totals.requests >= good + bad ? answer.body : undefined;
      },
      60_000,
      500,
    );
    const rows = models.expected.rows.length;
    expect(metrics.deployment.totals).toMatchObject({
      requests: good + bad,
      rows: good * rows,
      errors4xx: bad,
      errors5xx: 0,
    });
    const { latencyP50Ms, latencyP90Ms, latencyP99Ms, scoringTimeP50Ms } = metrics.deployment.totals;
    expect(latencyP50Ms).toBeGreaterThan(0);
    expect(latencyP50Ms).toBeLessThanOrEqual(latencyP90Ms);
    expect(latencyP90Ms).toBeLessThanOrEqual(latencyP99Ms);
    expect(scoringTimeP50Ms).toBeGreaterThan(0);
    // One point per period over the default hour, the counts in them adding up to the totals.
    expect(metrics.periodSeconds).toBe(60);
    expect(metrics.timestamps.length).toBe(60);
    expect(metrics.deployment.series.requests).toHaveLength(60);
    expect(sum(metrics.deployment.series.requests)).toBe(good + bad);
    expect(sum(metrics.deployment.series.rows)).toBe(good * rows);
    const [target] = metrics.targets;
    expect(metrics.targets).toHaveLength(1);
    expect(target).toMatchObject({ target: `${modelId}-v1`, modelId, version: 1, role: "primary" });
    expect(target.totals).toEqual(metrics.deployment.totals);
    expect(metrics.comparison).toBeNull();
    // The lines behind it: the workers' embedded-metric-format lines in the data folder.
    const file = join(platform.home, "metrics", `${single.deploymentId}.jsonl`);
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.every((l) => l._aws.CloudWatchMetrics[0].Namespace === "Byom/Scoring")).toBe(true);

    // A window before the deployment existed, on whole periods: zero counts, no percentiles.
    const hour = Math.floor(Date.now() / 3600_000) * 3600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const before = await metricsOf(
      single.deploymentId,
      `?from=${iso(hour - 5 * 3600_000)}&to=${iso(hour - 4 * 3600_000)}&period=600`,
    );
    expect(before.status).toBe(200);
    expect(before.body.timestamps).toHaveLength(6);
    expect(before.body.deployment.totals).toMatchObject({ requests: 0, latencyP99Ms: null });

    // Bad windows are refused with what to fix, and an unknown deployment is a 404.
    const late = await metricsOf(single.deploymentId, `?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`);
    expect([late.status, late.body.error.message]).toEqual([
      400,
      expect.stringMatching(/from must be before to/),
    ]);
    expect((await metricsOf(single.deploymentId, "?period=90")).status).toBe(400);
    expect((await metricsOf(single.deploymentId, "?from=2026-12-01T00:00:00Z&period=60")).status).toBe(400);
    expect((await metricsOf("dep-00000000000000000000000000")).status).toBe(404);

    const env = { BYOM_HOME: platform.home };
    const json = await runCli(["deployments", "metrics", "metered", "--project", "metrics", "--json"], {
      env,
    });
    expect(json.code, json.stderr).toBe(0);
    expect(json.json().deployment.totals.requests).toBe(good + bad);
    const human = await runCli(
      ["deployments", "metrics", "metered", "--project", "metrics", "--from", "2h"],
      {
        env,
      },
    );
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/SCOPE\s+REQUESTS\s+ROWS\s+4XX\s+5XX\s+P50 MS/);
    expect(human.stdout).toMatch(new RegExp(`deployment\\s+${good + bad}\\s+${good * rows}\\s+${bad}\\s+0`));
    const spark = human.stdout.split("\n").find((line) => line.startsWith("deployment requests"));
    expect(spark).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(spark).toMatch(/█/); // the busiest period is full height
    const refused = await runCli(
      ["deployments", "metrics", "metered", "--project", "metrics", "--from", "soon"],
      {
        env,
      },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--from takes an RFC 3339 instant/);
  }, 600_000);

  it("compares the challenger's answers with the champion's", async () => {
    const cc = await deploy({
      name: "compared",
      mode: "champion_challenger",
      targets: [
        { modelId, version: 1, role: "champion" },
        { modelId, version: 2, role: "challenger" },
      ],
    });
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const copies = 8;
    for (let i = 0; i < copies; i++) expect((await score(cc.endpointUrl, request)).status).toBe(200);
    const metrics = await waitFor(
      "every shadow copy compared",
      async () => {
        const answer = (await metricsOf(cc.deploymentId)).body;
        const challenger = answer.targets.find((t: any) => t.role === "challenger");
        return answer.comparison?.totals.copies >= copies && challenger?.totals.requests >= copies
          ? answer
          : undefined;
      },
      60_000,
      500,
    );
    const rows = models.expected.rows.length;
    const agreeing = models.expected.v1.filter((label, i) => label === models.expected.v2[i]).length;
    expect(agreeing).toBeLessThan(rows); // the two models must disagree somewhere for this to mean anything
    const { comparison } = metrics;
    expect(comparison).toMatchObject({
      champion: `${modelId}-v1`,
      challenger: `${modelId}-v2`,
      tolerance: 1e-6,
    });
    expect(comparison.totals).toMatchObject({
      copies,
      failures: 0,
      rowsCompared: copies * rows,
      rowsAgreed: copies * agreeing,
    });
    expect(comparison.totals.agreement).toBeCloseTo(agreeing / rows, 10);
    expect(comparison.totals.championLatencyP50Ms).toBeGreaterThan(0);
    expect(comparison.totals.challengerLatencyP50Ms).toBeGreaterThan(0);
    // Class labels are compared for equality: no numeric column, so no mean difference.
    expect(Object.values(comparison.totals.meanAbsDiff).every((v) => v === null)).toBe(true);
    // Callers' traffic is the champion's; the challenger's requests are the copies it answered.
    const byRole = Object.fromEntries(metrics.targets.map((t: any) => [t.role, t.totals.requests]));
    expect(byRole).toEqual({ champion: copies, challenger: copies });
    expect(metrics.deployment.totals.requests).toBe(copies);
  }, 600_000);
});
