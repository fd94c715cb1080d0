import { getDeploymentMetricsRoute } from "#lambdas/deployments/api/routes.ts";
import { CloudWatchMetricsSource } from "#lambdas/monitoring/cloudwatch-metrics-source.ts";
import { deploymentMetrics } from "#lambdas/monitoring/deployment-metrics.ts";
import { LocalMetricsSource } from "#lambdas/monitoring/local-metrics-source.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";

// Local mode names its data folder's metrics directory; on AWS the metrics are in CloudWatch.
const metricsDir = process.env.METRICS_DIR;
const source = metricsDir ? new LocalMetricsSource(metricsDir) : new CloudWatchMetricsSource();

export const handler = httpHandler(getDeploymentMetricsRoute, async ({ caller, params, query }) =>
  ok(await deploymentMetrics(caller, params.projectId, params.deploymentId, query, source)),
);
