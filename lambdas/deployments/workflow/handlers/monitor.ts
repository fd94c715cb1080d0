import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { monitorDeployments } from "#lambdas/deployments/workflow/health-monitor.ts";

/** Runs on a schedule (EventBridge): marks deployments UNHEALTHY or HEALTHY again. */
export const handler = async () => ({ changed: await monitorDeployments(awsServing()) });
