import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { recordFailure } from "#lambdas/deployments/workflow/record-failure.ts";
import type { FailedRun } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: FailedRun) => recordFailure(input, awsServing());
