import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { recordTeardownFailure } from "#lambdas/deployments/workflow/teardown.ts";
import type { FailedRun } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the delete workflow (Step Functions invokes it with the state's input). */
export const handler = (input: FailedRun) => recordTeardownFailure(input, awsServing());
