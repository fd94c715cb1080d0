import { awsServing } from "../aws-serving.ts";
import { recordFailure } from "../deploy-steps.ts";
import type { FailedRun } from "../workflow-state.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: FailedRun) => recordFailure(input, awsServing());
