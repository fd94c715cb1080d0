import { registryReader } from "#lambdas/deployments/registry-reader.ts";
import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { prepare } from "#lambdas/deployments/workflow/plan-slots.ts";
import type { WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: WorkflowInput) => prepare(input, registryReader, awsServing());
