import type { Duration } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Construct } from "constructs";

/**
 * A Standard state machine, traced and logged (every state, without execution data), as `scope`'s
 * "StateMachine", logging to a new one-month "Logs" group unless one is given. A function rather than a construct so the resources keep the ids of the workflow
 * constructs that call it (renaming a construct id replaces the resource).
 */
export function workflowStateMachine(
  scope: Construct,
  definition: sfn.IChainable,
  timeout: Duration,
  logGroup: logs.ILogGroup | undefined,
): sfn.StateMachine {
  return new sfn.StateMachine(scope, "StateMachine", {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    stateMachineType: sfn.StateMachineType.STANDARD,
    timeout,
    tracingEnabled: true,
    logs: {
      destination: logGroup ?? new logs.LogGroup(scope, "Logs", { retention: logs.RetentionDays.ONE_MONTH }),
      level: sfn.LogLevel.ALL,
      includeExecutionData: false,
    },
  });
}
