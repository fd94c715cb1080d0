import { awsServing } from "../aws-serving.ts";
import { prepare } from "../deploy-steps.ts";
import { registryReader } from "../registry-reader.ts";
import type { WorkflowInput } from "../workflow-state.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: WorkflowInput) => prepare(input, registryReader, awsServing());
