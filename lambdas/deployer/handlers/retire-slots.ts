import { awsServing } from "../aws-serving.ts";
import { retireSlots } from "../deploy-steps.ts";
import type { SwitchedDeploy } from "../workflow-state.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: SwitchedDeploy) => retireSlots(input, awsServing());
