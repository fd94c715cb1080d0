import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricDatum,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeploymentRecord, Slot } from "#lambdas/deployments/deployment-record.ts";
import { CloudWatchMetricsSource } from "#lambdas/monitoring/cloudwatch-metrics-source.ts";
import {
  alarmNames,
  deleteDeploymentAlarms,
  putDeploymentAlarms,
} from "#lambdas/monitoring/deployment-alarms.ts";
import { LocalMetricsSource } from "#lambdas/monitoring/local-metrics-source.ts";
import { metricsWindow, readMetrics } from "#lambdas/monitoring/metrics-answer.ts";
import { METRICS_NAMESPACE } from "#lambdas/monitoring/metrics-source.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";

/**
 * The AWS metrics source against moto's CloudWatch over the real wire protocol, with metrics put
 * directly (PutMetricData) as CloudWatch Logs would extract them from the runtimes' EMF lines, and
 * the same data as EMF lines through the local source: both must give the same answer.
 *
 * What moto does not check: it computes no percentile statistics (p50/p90/p99 come back empty, so
 * the latency figures are null here; the local source's percentiles are checked in
 * test/monitoring/metrics-local.test.ts and the histograms in the runtime's tests), it does not
 * extract metrics from EMF log lines, and it accepts GetMetricData without IAM.
 */
let moto: MotoServer;
let client: CloudWatchClient;
let dir: string;

beforeAll(async () => {
  moto = await startMotoServer();
  client = new CloudWatchClient({
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  dir = mkdtempSync(join(tmpdir(), "byom-metrics-"));
}, 300_000);

afterAll(async () => {
  client?.destroy();
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const DEPLOYMENT = "dep-0123456789abcdefghijklmnop";
const slot = (modelId: string, version: number, role: Slot["target"]["role"]): Slot =>
  ({
    slotId: `slot-${version}`,
    position: version - 1,
    revision: 1,
    resources: {},
    target: {
      modelId,
      version,
      role,
      weight: role === "challenger" ? 0 : 100,
      outputSchema: [{ name: "amount", type: "Float64" }],
    },
  }) as unknown as Slot;
const record = {
  deploymentId: DEPLOYMENT,
  slots: [slot("mdl-a", 1, "champion"), slot("mdl-a", 2, "challenger")],
} as unknown as DeploymentRecord;

/** One period's figures for one target, as a runtime worker would count them. */
interface Sample {
  readonly minute: number;
  readonly target: string;
  readonly requests: number;
  readonly rows: number;
  readonly errors4xx: number;
  readonly user: boolean;
}

describe("metrics through CloudWatch (moto) and through local files", () => {
  it("give the same series and totals for the same data", async () => {
    const now = new Date();
    const to = Math.ceil(now.getTime() / 60_000) * 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const window = metricsWindow({ from: iso(to - 10 * 60_000), to: iso(to), period: 60 }, now);
    const at = (minute: number) => new Date(window.start.getTime() + minute * 60_000 + 20_000);
    const samples: Sample[] = [
      { minute: 1, target: "mdl-a-v1", requests: 5, rows: 50, errors4xx: 1, user: true },
      { minute: 1, target: "mdl-a-v1", requests: 3, rows: 30, errors4xx: 0, user: true }, // a second worker
      { minute: 4, target: "mdl-a-v1", requests: 7, rows: 70, errors4xx: 2, user: true },
      { minute: 4, target: "mdl-a-v2", requests: 6, rows: 60, errors4xx: 0, user: false }, // shadow copies
    ];
    const shadow = [
      {
        minute: 4,
        copies: 6,
        compared: 60,
        agreed: 45,
        diffCount: 60,
        diffSum: 12,
        diffMin: 0,
        diffMax: 1.5,
      },
    ];

    const data: MetricDatum[] = [];
    const lines: object[] = [];
    for (const s of samples) {
      const dimensionSets = s.user
        ? [["DeploymentId", "Target"], ["DeploymentId"]]
        : [["DeploymentId", "Target"]];
      // A capturing runtime's user lines also carry CaptureDropped (here 2 per line: 6 in all).
      const values = {
        Requests: s.requests,
        Rows: s.rows,
        Errors4xx: s.errors4xx,
        Errors5xx: 0,
        ...(s.user ? { CaptureDropped: 2 } : {}),
      };
      for (const set of dimensionSets) {
        for (const [name, value] of Object.entries(values)) {
          data.push({
            MetricName: name,
            Timestamp: at(s.minute),
            Value: value,
            Unit: "Count",
            Dimensions: set.map((n) => ({ Name: n, Value: n === "Target" ? s.target : DEPLOYMENT })),
          });
        }
      }
      lines.push(emf(at(s.minute), dimensionSets, { DeploymentId: DEPLOYMENT, Target: s.target }, values));
    }
    for (const s of shadow) {
      const counts = {
        ShadowCopies: s.copies,
        ShadowFailures: 0,
        ShadowRowsCompared: s.compared,
        ShadowRowsAgreed: s.agreed,
      };
      for (const [name, value] of Object.entries(counts))
        data.push({
          MetricName: name,
          Timestamp: at(s.minute),
          Value: value,
          Unit: "Count",
          Dimensions: [{ Name: "DeploymentId", Value: DEPLOYMENT }],
        });
      lines.push(emf(at(s.minute), [["DeploymentId"]], { DeploymentId: DEPLOYMENT }, counts));
      const diff = { SampleCount: s.diffCount, Sum: s.diffSum, Minimum: s.diffMin, Maximum: s.diffMax };
      data.push({
        MetricName: "ShadowAbsDiff",
        Timestamp: at(s.minute),
        StatisticValues: diff,
        Unit: "None",
        Dimensions: [
          { Name: "DeploymentId", Value: DEPLOYMENT },
          { Name: "Output", Value: "amount" },
        ],
      });
      lines.push(
        emf(
          at(s.minute),
          [["DeploymentId", "Output"]],
          { DeploymentId: DEPLOYMENT, Output: "amount" },
          {
            ShadowAbsDiff: { Count: s.diffCount, Sum: s.diffSum, Min: s.diffMin, Max: s.diffMax },
          },
        ),
      );
    }
    for (let i = 0; i < data.length; i += 20)
      await client.send(
        new PutMetricDataCommand({ Namespace: METRICS_NAMESPACE, MetricData: data.slice(i, i + 20) }),
      );
    writeFileSync(join(dir, `${DEPLOYMENT}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);

    const fromCloudWatch = await readMetrics(record, window, new CloudWatchMetricsSource(client));
    const fromFiles = await readMetrics(record, window, new LocalMetricsSource(dir));

    expect(fromCloudWatch.timestamps).toHaveLength(10);
    expect(fromCloudWatch.deployment.totals).toMatchObject({
      requests: 15,
      rows: 150,
      errors4xx: 3,
      errors5xx: 0,
      captureDropped: 6,
    });
    expect(fromCloudWatch.deployment.series.requests).toEqual([0, 8, 0, 0, 7, 0, 0, 0, 0, 0]);
    const [champion, challenger] = fromCloudWatch.targets;
    expect(champion?.totals.requests).toBe(15);
    expect(challenger?.totals).toMatchObject({ requests: 6, rows: 60, captureDropped: 0 });
    expect(fromCloudWatch.comparison?.totals).toMatchObject({
      copies: 6,
      rowsCompared: 60,
      rowsAgreed: 45,
      agreement: 0.75,
      meanAbsDiff: { amount: 0.2 },
    });
    expect(fromCloudWatch.comparison?.series.agreement[4]).toBe(0.75);

    // The same answer from both sources, but for the percentiles moto does not compute.
    const withoutPercentiles = (answer: unknown) =>
      JSON.parse(JSON.stringify(answer), (key, value) => (key.endsWith("Ms") ? undefined : value));
    expect(withoutPercentiles(fromFiles)).toEqual(withoutPercentiles(fromCloudWatch));
  }, 120_000);
});

describe("a deployment's alarms in CloudWatch (moto)", () => {
  // moto stores and lists alarms as sent; it does not evaluate them (no state change is checked).
  it("are put with the deployment's metrics and the topic, replaced by a second put, and deleted", async () => {
    const topic = "arn:aws:sns:us-east-1:123456789012:byom-alarms";
    const names = alarmNames(DEPLOYMENT);
    const listed = async () =>
      (await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `byom-${DEPLOYMENT}` })))
        .MetricAlarms ?? [];

    await putDeploymentAlarms(client, DEPLOYMENT, "churn", { topicArn: topic });
    await putDeploymentAlarms(client, DEPLOYMENT, "churn", { topicArn: topic, p99LatencyMs: 250 });
    const alarms = await listed();
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual([names.errorRate, names.latency].sort());
    const latency = alarms.find((a) => a.AlarmName === names.latency);
    expect(latency).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: "Latency",
      ExtendedStatistic: "p99",
      Dimensions: [{ Name: "DeploymentId", Value: DEPLOYMENT }],
      Threshold: 250,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [topic],
      OKActions: [topic],
    });
    const rate = alarms.find((a) => a.AlarmName === names.errorRate);
    expect(rate?.Threshold).toBe(5);
    expect(rate?.Metrics?.find((m) => m.ReturnData)?.Expression).toBe("100 * errors / requests");
    expect(
      rate?.Metrics?.map((m) => m.MetricStat?.Metric?.MetricName)
        .filter(Boolean)
        .sort(),
    ).toEqual(["Errors5xx", "Requests"]);

    await deleteDeploymentAlarms(client, DEPLOYMENT);
    expect(await listed()).toEqual([]);
    // A retried delete workflow deletes again: no error.
    await deleteDeploymentAlarms(client, DEPLOYMENT);
  }, 60_000);
});

function emf(
  at: Date,
  dimensions: string[][],
  keys: Record<string, string>,
  values: Record<string, unknown>,
) {
  const metrics = Object.keys(values).map((Name) => ({ Name, Unit: "Count" }));
  return {
    _aws: {
      Timestamp: at.getTime(),
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: dimensions, Metrics: metrics }],
    },
    ...keys,
    ...values,
  };
}
