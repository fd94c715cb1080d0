import { awsServing } from "../aws-serving.ts";
import { teardown } from "../delete-steps.ts";
import type { WorkflowInput } from "../workflow-state.ts";

/** Task state of the delete workflow (Step Functions invokes it with the state's input). */
export const handler = (input: WorkflowInput) => teardown(input, awsServing());
