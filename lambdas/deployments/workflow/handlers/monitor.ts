import { sweepAlbReservations } from "#lambdas/deployments/alb-reservations.ts";
import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { monitorDeployments } from "#lambdas/deployments/workflow/health-monitor.ts";
import { sweepOrphans } from "#lambdas/deployments/workflow/orphan-sweep.ts";

/**
 * Runs on a schedule (EventBridge): marks deployments UNHEALTHY or HEALTHY again, then removes
 * resources tagged to deployments that no longer exist and their load balancer reservations.
 */
export const handler = async () => ({
  changed: await monitorDeployments(awsServing()),
  orphansRemoved: (await sweepOrphans(awsServing())).length,
  reservationsReleased: (await sweepAlbReservations()).length,
});
