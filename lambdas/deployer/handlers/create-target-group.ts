import { awsServing } from "../aws-serving.ts";
import { createTargetGroup } from "../deploy-steps.ts";
import type { BuildItem } from "../workflow-state.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: BuildItem) => createTargetGroup(input, awsServing());
