import { awsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import { stageArtifact } from "#lambdas/deployments/workflow/build-slot.ts";

import type { BuildItem } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the deploy workflow (Step Functions invokes it with the state's input). */
export const handler = (input: BuildItem) => stageArtifact(input, awsServing());
