import type * as SfnSdk from "@aws-sdk/client-sfn";
import type { WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import { requireEnv } from "#lambdas/shared/env.ts";

// Loaded at every deployment handler's cold start: require() is the cheaper load (shared/aws-sdk.ts).
const { DescribeExecutionCommand, SFNClient, StartExecutionCommand } = requireSdk(
  "@aws-sdk/client-sfn",
) as typeof SfnSdk;

const sfn = new SFNClient({ endpoint: process.env.AWS_ENDPOINT_URL_SFN || undefined });
const DEPLOY_STATE_MACHINE_ARN = requireEnv("DEPLOY_STATE_MACHINE_ARN");
const DELETE_STATE_MACHINE_ARN = requireEnv("DELETE_STATE_MACHINE_ARN");

export type WorkflowKind = "deploy" | "delete";

const stateMachineOf = (kind: WorkflowKind) =>
  kind === "deploy" ? DEPLOY_STATE_MACHINE_ARN : DELETE_STATE_MACHINE_ARN;

/** Starts a workflow execution named after the change, so a repeated start cannot run twice. */
export async function startWorkflow(kind: WorkflowKind, input: WorkflowInput): Promise<string> {
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stateMachineOf(kind),
      name: input.workflowId,
      input: JSON.stringify(input),
    }),
  );
  return out.executionArn ?? input.workflowId;
}

/**
 * Whether the execution holding a deployment still runs. An execution that timed out, was stopped,
 * or vanished with local mode's process cannot release the deployment itself.
 */
export async function workflowRunning(workflowId: string): Promise<boolean> {
  const kind: WorkflowKind = workflowId.startsWith("delete-") ? "delete" : "deploy";
  const executionArn = `${stateMachineOf(kind).replace(":stateMachine:", ":execution:")}:${workflowId}`;
  try {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return out.status === "RUNNING" || out.status === "PENDING_REDRIVE";
  } catch (error) {
    if ((error as Error).name === "ExecutionDoesNotExist") return false;
    throw error;
  }
}
