/**
 * Two CloudWatch alarms per deployment on its callers' traffic (docs/monitoring.md): the share of
 * requests answered 5xx, and the p99 latency. The deploy workflow puts them (idempotent: PutMetricAlarm
 * replaces an alarm of the same name) whenever traffic switches; the delete workflow removes them.
 */
import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
} from "@aws-sdk/client-cloudwatch";
import { ALARM_NAME_PREFIX } from "#lambdas/deployments/serving-contract.ts";
import { METRICS_NAMESPACE } from "./metrics-source.ts";

export interface AlarmSettings {
  /** An SNS topic told when an alarm fires and clears (context byom:alarmTopicArn). @default none */
  readonly topicArn?: string | undefined;
  /** @default 5 (% of requests over a minute) */
  readonly errorRatePercent?: number;
  /** @default 1000 ms */
  readonly p99LatencyMs?: number;
}

export const alarmNames = (deploymentId: string) => ({
  errorRate: `${ALARM_NAME_PREFIX}${deploymentId}-5xx-rate`,
  latency: `${ALARM_NAME_PREFIX}${deploymentId}-p99-latency`,
});

/** Three of the last five minutes past the threshold: one bad minute does not page anyone. */
const EVALUATION = { Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3 } as const;

export async function putDeploymentAlarms(
  client: CloudWatchClient,
  deploymentId: string,
  deploymentName: string,
  settings: AlarmSettings = {},
): Promise<void> {
  const names = alarmNames(deploymentId);
  const dimensions = [{ Name: "DeploymentId", Value: deploymentId }];
  const actions = settings.topicArn
    ? { AlarmActions: [settings.topicArn], OKActions: [settings.topicArn] }
    : {};
  const metric = (MetricName: string) => ({
    Metric: { Namespace: METRICS_NAMESPACE, MetricName, Dimensions: dimensions },
    Period: EVALUATION.Period,
    Stat: "Sum",
  });
  await client.send(
    new PutMetricAlarmCommand({
      AlarmName: names.errorRate,
      AlarmDescription: `Byom deployment ${deploymentName} (${deploymentId}): more than ${settings.errorRatePercent ?? 5}% of requests answered 5xx`,
      Metrics: [
        { Id: "errors", MetricStat: metric("Errors5xx"), ReturnData: false },
        { Id: "requests", MetricStat: metric("Requests"), ReturnData: false },
        { Id: "rate", Expression: "100 * errors / requests", Label: "5xx %", ReturnData: true },
      ],
      Threshold: settings.errorRatePercent ?? 5,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: EVALUATION.EvaluationPeriods,
      DatapointsToAlarm: EVALUATION.DatapointsToAlarm,
      // No traffic is not an outage: the runtimes write no line for a quiet minute.
      TreatMissingData: "notBreaching",
      ...actions,
    }),
  );
  await client.send(
    new PutMetricAlarmCommand({
      AlarmName: names.latency,
      AlarmDescription: `Byom deployment ${deploymentName} (${deploymentId}): p99 latency above ${settings.p99LatencyMs ?? 1000} ms`,
      Namespace: METRICS_NAMESPACE,
      MetricName: "Latency",
      Dimensions: dimensions,
      ExtendedStatistic: "p99",
      Period: EVALUATION.Period,
      EvaluationPeriods: EVALUATION.EvaluationPeriods,
      DatapointsToAlarm: EVALUATION.DatapointsToAlarm,
      Threshold: settings.p99LatencyMs ?? 1000,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      ...actions,
    }),
  );
}

/** Deleting alarms that do not exist succeeds: a retried delete workflow passes here again. */
export async function deleteDeploymentAlarms(client: CloudWatchClient, deploymentId: string): Promise<void> {
  const names = alarmNames(deploymentId);
  await client.send(new DeleteAlarmsCommand({ AlarmNames: [names.errorRate, names.latency] }));
}
