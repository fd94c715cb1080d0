import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { DELETE_STATES, type DeleteStep } from "#lambdas/deployments/serving-contract.ts";
import { workflowStateMachine } from "./workflow-state-machine.ts";

export interface DeleteWorkflowProps {
  readonly steps: Readonly<Record<DeleteStep, lambda.IFunction>>;
  /** @default a new log group, one month */
  readonly logGroup?: logs.ILogGroup;
}

/**
 * The delete workflow: Teardown (traffic rule first, then every slot's service, rule, target group
 * and files; retried, each removal tolerating what is gone) → Forget (the item). A teardown that
 * keeps failing records the reason and leaves the deployment FAILED, to be deleted again.
 */
export class DeleteWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DeleteWorkflowProps) {
    super(scope, id);
    const step = (name: DeleteStep) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.steps[name],
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      });
    const teardown = step(DELETE_STATES.teardown);
    teardown.addRetry({
      errors: ["States.TaskFailed"],
      interval: Duration.seconds(5),
      maxAttempts: 3,
      backoffRate: 2,
    });
    const recordFailure = step(DELETE_STATES.recordFailure).next(
      new sfn.Fail(this, DELETE_STATES.failed, {
        error: "DeleteFailed",
        cause: "The deployment's failureReason says why; send DELETE again to retry.",
      }),
    );
    teardown.addCatch(recordFailure, { resultPath: "$.error", errors: ["States.ALL"] });
    const definition = teardown.next(step(DELETE_STATES.forget));
    this.stateMachine = workflowStateMachine(this, definition, Duration.hours(1), props.logGroup);
  }
}
