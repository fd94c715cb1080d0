import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { WorkflowInput } from "#lambdas/deployer/workflow-state.ts";
import { requireEnv } from "#lambdas/shared/env.ts";

const sfn = new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL_SFN || undefined });
const DEPLOY_STATE_MACHINE_ARN = requireEnv("DEPLOY_STATE_MACHINE_ARN");
const DELETE_STATE_MACHINE_ARN = requireEnv("DELETE_STATE_MACHINE_ARN");

export type WorkflowKind = "deploy" | "delete";

/** Starts a workflow execution named after the change, so a repeated start cannot run twice. */
export async function startWorkflow(kind: WorkflowKind, input: WorkflowInput): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: kind === "deploy" ? DEPLOY_STATE_MACHINE_ARN : DELETE_STATE_MACHINE_ARN,
      name: input.workflowId,
      input: JSON.stringify(input),
    }),
  );
  return out.executionArn ?? input.workflowId;
}
