import { forget } from "../delete-steps.ts";

import type { WorkflowInput } from "../workflow-state.ts";

/** Task state of the delete workflow (Step Functions invokes it with the state's input). */
export const handler = (input: WorkflowInput) => forget(input);
