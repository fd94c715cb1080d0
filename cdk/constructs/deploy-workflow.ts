import { Duration } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { DEPLOY_STATES, type DeployStep } from "#lambdas/deployments/serving-contract.ts";
import { workflowStateMachine } from "./workflow-state-machine.ts";

/** Where and how processor tasks run (ECS Fargate, private subnets, the models volume mounted). */
export interface ProcessorTaskSettings {
  readonly clusterArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** The processor task definitions the workflow may run (processor name → ARN comes per run). */
  readonly taskDefinitionArns: readonly string[];
  /** Task and execution roles of those task definitions (RunTask passes them). */
  readonly passRoleArns: readonly string[];
}

export interface DeployWorkflowProps {
  /** The Lambda of each Lambda-backed step, by state name. */
  readonly steps: Readonly<Record<DeployStep, lambda.IFunction>>;
  readonly processorTasks: ProcessorTaskSettings;
  /** Slots built in parallel (A/B and champion/challenger have two). @default 2 */
  readonly maxParallelSlots?: number;
  /** How long one processor run may take. @default Duration.hours(1) */
  readonly processorTimeout?: Duration;
  /** @default a new log group, one month */
  readonly logGroup?: logs.ILogGroup;
}

/** ECS errors worth retrying: capacity, throttling, service faults. A task that exits non-zero is not one. */
export const TRANSIENT_ECS_ERRORS = [
  "ECS.AmazonECSException",
  "ECS.ServerException",
  "ECS.ThrottlingException",
  "ECS.LimitExceededException",
  "ECS.PlatformUnknownException",
] as const;

/**
 * The deploy workflow (docs/concepts.md), Standard Step Functions in JSONPath: Prepare → for each new slot
 * (Map): stage the artifact on EFS → processor task (ECS runTask.sync) → target group and a rule of
 * its own → runtime service → wait healthy (bounded loop) → score the sample request → switch the
 * deployment's traffic rule to the new slots → drain → remove the previous revision's slots. Any
 * failure → RecordFailure (removes what the run created, records the reason) → DeployFailed. The same
 * definition runs in local mode with each Task bound to a local handler by state name.
 */
export class DeployWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DeployWorkflowProps) {
    super(scope, id);
    const step = (name: DeployStep, extra: Partial<tasks.LambdaInvokeProps> = {}) =>
      new tasks.LambdaInvoke(this, name, {
        lambdaFunction: props.steps[name],
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        ...extra,
      });

    const prepare = step(DEPLOY_STATES.prepare);
    const stageArtifact = step(DEPLOY_STATES.stageArtifact, {
      taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
    });
    const { processorTasks } = props;
    const runProcessor = new sfn.CustomState(this, DEPLOY_STATES.runProcessor, {
      stateJson: {
        Type: "Task",
        Resource: "arn:aws:states:::ecs:runTask.sync",
        Parameters: {
          Cluster: processorTasks.clusterArn,
          LaunchType: "FARGATE",
          "TaskDefinition.$": "$.processorRun.taskDefinition",
          NetworkConfiguration: {
            AwsvpcConfiguration: {
              Subnets: processorTasks.subnetIds,
              SecurityGroups: processorTasks.securityGroupIds,
              AssignPublicIp: "DISABLED",
            },
          },
          Overrides: {
            ContainerOverrides: [
              {
                "Name.$": "$.processorRun.containerName",
                "Environment.$": "$.processorRun.environment",
              },
            ],
          },
          PropagateTags: "TASK_DEFINITION",
        },
        ResultPath: null,
        TimeoutSeconds: (props.processorTimeout ?? Duration.hours(1)).toSeconds(),
        Retry: [
          { ErrorEquals: [...TRANSIENT_ECS_ERRORS], IntervalSeconds: 10, MaxAttempts: 4, BackoffRate: 2 },
        ],
      },
    });
    const createTargetGroup = step(DEPLOY_STATES.createTargetGroup);
    const startRuntime = step(DEPLOY_STATES.startRuntime);
    const waitForRuntime = new sfn.Wait(this, DEPLOY_STATES.waitForRuntime, {
      time: sfn.WaitTime.secondsPath("$.health.intervalSeconds"),
    });
    const checkRuntime = step(DEPLOY_STATES.checkRuntime);
    const verifySample = step(DEPLOY_STATES.verifySample);
    const runtimeReady = new sfn.Choice(this, DEPLOY_STATES.runtimeReady)
      .when(sfn.Condition.booleanEquals("$.health.healthy", true), verifySample)
      .otherwise(waitForRuntime);

    const buildSlot = stageArtifact
      .next(runProcessor)
      .next(createTargetGroup)
      .next(startRuntime)
      .next(waitForRuntime)
      .next(checkRuntime)
      .next(runtimeReady);

    const buildSlots = new sfn.Map(this, DEPLOY_STATES.buildSlots, {
      itemsPath: "$.build",
      maxConcurrency: props.maxParallelSlots ?? 2,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(buildSlot);

    const switchTraffic = step(DEPLOY_STATES.switchTraffic);
    const drain = new sfn.Wait(this, DEPLOY_STATES.drain, {
      time: sfn.WaitTime.secondsPath("$.drainSeconds"),
    });
    const retireSlots = step(DEPLOY_STATES.retireSlots);

    const recordFailure = step(DEPLOY_STATES.recordFailure).next(
      new sfn.Fail(this, DEPLOY_STATES.failed, {
        error: "DeploymentFailed",
        cause: "The deployment's failureReason and events say why; everything this run created was removed.",
      }),
    );
    const onFailure = { resultPath: "$.error", errors: ["States.ALL"] };
    prepare.addCatch(recordFailure, onFailure);
    buildSlots.addCatch(recordFailure, onFailure);
    switchTraffic.addCatch(recordFailure, onFailure);
    // After the switch the deployment is live and released: a retire that keeps failing fails the
    // execution (visible in its history) without touching the deployment.
    retireSlots.addRetry({
      errors: ["States.TaskFailed"],
      interval: Duration.seconds(5),
      maxAttempts: 3,
      backoffRate: 2,
    });

    const definition = prepare.next(buildSlots).next(switchTraffic).next(drain).next(retireSlots);

    this.stateMachine = workflowStateMachine(this, definition, Duration.hours(3), props.logGroup);
    this.grantProcessorRuns(processorTasks);
  }

  /** What `ecs:runTask.sync` needs: run and watch the processor tasks, pass their roles. */
  private grantProcessorRuns(processorTasks: ProcessorTaskSettings): void {
    const stack = this.stateMachine.stack;
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["ecs:RunTask"],
        resources: [...processorTasks.taskDefinitionArns],
        conditions: { ArnEquals: { "ecs:cluster": processorTasks.clusterArn } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["ecs:StopTask", "ecs:DescribeTasks"],
        resources: [stack.formatArn({ service: "ecs", resource: "task", resourceName: "*" })],
        conditions: { ArnEquals: { "ecs:cluster": processorTasks.clusterArn } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources: [
          stack.formatArn({
            service: "events",
            resource: "rule",
            resourceName: "StepFunctionsGetEventsForECSTaskRule",
          }),
        ],
      }),
    );
    if (processorTasks.passRoleArns.length > 0) {
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["iam:PassRole"],
          resources: [...processorTasks.passRoleArns],
          conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        }),
      );
    }
  }
}
