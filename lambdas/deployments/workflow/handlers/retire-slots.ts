import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { retireSlots } from "#lambdas/deployments/workflow/retire-slots.ts";
import type { SwitchedDeploy } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: SwitchedDeploy) => retireSlots(input, awsServing());
