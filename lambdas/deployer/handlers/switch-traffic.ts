import { awsServing } from "../aws-serving.ts";
import { switchTraffic } from "../deploy-steps.ts";
import type { PreparedDeploy } from "../workflow-state.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: PreparedDeploy) => switchTraffic(input, awsServing());
