import { awsServing } from "../aws-serving.ts";
import { recordTeardownFailure } from "../delete-steps.ts";
import type { FailedRun } from "../workflow-state.ts";

/** Task state of the delete workflow (Step Functions invokes it with the state's input). */
export const handler = (input: FailedRun) => recordTeardownFailure(input, awsServing());
