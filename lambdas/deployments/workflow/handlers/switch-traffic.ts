import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { switchTraffic } from "#lambdas/deployments/workflow/traffic-rules.ts";
import type { PreparedDeploy } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: PreparedDeploy) => switchTraffic(input, awsServing());
