import { forget } from "#lambdas/deployments/workflow/teardown.ts";

import type { WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";

/** Task state of the delete workflow (Step Functions invokes it with the state's input). */
export const handler = (input: WorkflowInput) => forget(input);
