import { ArnFormat, type CfnResource, Duration, RemovalPolicy, Stack, Token, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { IMAGE_ROLE_PATH } from "#lambdas/catalog/images/execution-role-names.ts";
import { DEFAULT_ALB_QUOTAS } from "#lambdas/deployments/alb-quotas.ts";
import { DEFAULT_MAX_REPLICAS } from "#lambdas/deployments/capacity.ts";
import { CAPTURE_ROLE_PATH } from "#lambdas/deployments/serving/aws-serving-names.ts";
import {
  ALARM_NAME_PREFIX,
  DELETE_STEP_HANDLERS,
  DEPLOY_STEP_HANDLERS,
  type DeleteStep,
  type DeployStep,
  MODELS_MOUNT_PATH,
  MONITOR_HANDLER,
  RUNTIME_PORT,
  type StepSetting,
} from "#lambdas/deployments/serving-contract.ts";
import { CAPTURE_PREFIX } from "#lambdas/monitoring/capture-location.ts";
import { ARTIFACTS_PREFIX } from "#lambdas/shared/object-keys.ts";
import { allowBoundedRoles, rolesUnder } from "../bounded-roles.ts";
import { ByomFunction } from "./byom-function.ts";
import { grantImagePull, imageRoleArns } from "./catalog-images.ts";
import type { ContainerImages } from "./container-images.ts";
import { DeleteWorkflow } from "./delete-workflow.ts";
import { DeployWorkflow } from "./deploy-workflow.ts";
import type { ModelFileSystem } from "./model-file-system.ts";
import type { Network } from "./network.ts";
import type { ScoringCluster } from "./scoring-cluster.ts";

/** The family of the processor task definitions the workflow registers per slot (aws-serving.ts). */
const SLOT_PROCESSOR_FAMILIES = "byom-*-processor";
/** Runtime secrets are named `byom/<deploymentId>/<slotId>` (aws-serving.ts, RUNTIME_SECRET_PREFIX). */
const RUNTIME_SECRET_NAMES = "byom/";
/** Set on the API functions (and the monitor) only, not on the steps. */
type ApiSettings =
  | "DEPLOY_STATE_MACHINE_ARN"
  | "DELETE_STATE_MACHINE_ARN"
  | "UNAUTHENTICATED_SCORING"
  | "ALB_RULES_QUOTA"
  | "ALB_TARGET_GROUPS_QUOTA";
/** The operations of the deployments API that start workflows. */
const WORKFLOW_STARTING_OPERATIONS = ["createDeployment", "updateDeployment", "deleteDeployment"];
const DEPLOYMENT_OPERATIONS = [...WORKFLOW_STARTING_OPERATIONS, "getDeployment", "listDeployments"];

export interface ServingWorkflowsProps {
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  readonly vpc: ec2.IVpc;
  readonly taskSubnets: ec2.SubnetSelection;
  /** Adds the interface endpoints the steps need, as the network makes its own (subnets, security group). */
  readonly endpoints: Pick<Network, "addInterfaceEndpoint">;
  readonly fileSystem: ModelFileSystem;
  readonly scoring: ScoringCluster;
  readonly images: ContainerImages;
  /** The registry API's functions by operationId: the deployments operations get the workflows. */
  readonly apiFunctions: ReadonlyMap<string, ByomFunction>;
  /** How long the previous revision drains after a swap (also the target groups' deregistration delay). @default 30 s */
  readonly drain?: Duration;
  /** vCPU units and memory of a runtime task. @default 1024 and 2048 MiB */
  readonly runtimeCpu?: number;
  readonly runtimeMemoryMiB?: number;
  /** The most replicas a deployment target may ask for. @default 10 */
  readonly maxReplicas?: number;
  /** The account's ELB quotas the API checks a deployment against (rules, target groups per ALB). @default 100 each */
  readonly albQuotas?: { readonly rules?: number; readonly targetGroups?: number };
  /** @default false */
  readonly tracing?: boolean;
  /** Whether the API accepts deployments with security mode none. @default "allowed" */
  readonly unauthenticatedScoring?: "allowed" | "refused";
  /** Where the deployments' alarms notify (context byom:alarmTopicArn). @default none */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The serving workflows (docs/deployments.md): the step Lambdas (in the VPC, with the models volume mounted), one
 * Fargate task definition per built-in processor, the roles runtime tasks run with, and the deploy
 * and delete state machines; the deployments API functions get the state machines' ARNs and the
 * right to start them.
 */
export class ServingWorkflows extends Construct {
  public readonly deployWorkflow: DeployWorkflow;
  public readonly deleteWorkflow: DeleteWorkflow;
  public readonly securityGroup: ec2.SecurityGroup;
  /** The permissions boundary of capturing deployments' own task roles. */
  public readonly captureBoundary: iam.ManagedPolicy;
  /** Where runtime and processor tasks log (catalog images' own execution roles write there too). */
  public readonly taskLogGroups: readonly logs.ILogGroup[];
  private readonly apiFunctions: ReadonlyMap<string, ByomFunction>;
  private monitor: ByomFunction | undefined;

  constructor(scope: Construct, id: string, props: ServingWorkflowsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.apiFunctions = props.apiFunctions;
    const { cluster } = props.scoring;
    const drain = props.drain ?? Duration.seconds(30);
    const processorLogs = new logs.LogGroup(this, "ProcessorLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const runtimeLogs = new logs.LogGroup(this, "RuntimeLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskLogGroups = [runtimeLogs, processorLogs];

    this.securityGroup = new ec2.SecurityGroup(this, "StepSecurityGroup", {
      vpc: props.vpc,
      description: "Byom deployer steps: EFS, AWS APIs through endpoints, runtime verification",
      // Egress rules: EFS here (allowFrom), the rest where the stack composes (byom-stack.ts).
      allowAllOutbound: false,
    });
    props.fileSystem.allowFrom(this.securityGroup, "Deployer steps stage artifacts and remove models");
    props.scoring.runtimeSecurityGroup.addIngressRule(
      this.securityGroup,
      ec2.Port.tcp(RUNTIME_PORT),
      "The deploy workflow scores a new runtime's sample request before traffic moves",
    );
    // The isolated subnets reach ECS and ELB only through interface endpoints (in every AZ with
    // byom:endpointsInEveryAz, like the network's own).
    for (const [name, service] of Object.entries({
      Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
      ElasticLoadBalancing: ec2.InterfaceVpcEndpointAwsService.ELASTIC_LOAD_BALANCING,
      StepFunctions: ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
      // Slot access points (the steps) and the runtimes' passphrase secrets (the ECS agent).
      ElasticFileSystem: ec2.InterfaceVpcEndpointAwsService.ELASTIC_FILESYSTEM,
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      ApplicationAutoScaling: ec2.InterfaceVpcEndpointAwsService.APPLICATION_AUTOSCALING,
      // The deployments' alarms (PutMetricAlarm, DeleteAlarms).
      CloudWatch: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    })) {
      props.endpoints.addInterfaceEndpoint(`Deployer${name}`, service);
    }

    // Processors: task definitions are registered per slot from the processor's catalog entry (its
    // pinned image and env) by the StageArtifact step, with these roles.
    const processorExecutionRole = new iam.Role(this, "ProcessorExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Byom processor tasks: pull the catalog's images, write their logs",
    });
    processorLogs.grantWrite(processorExecutionRole);
    grantImagePull(this, processorExecutionRole, props.images);
    const processorTaskRole = new iam.Role(this, "ProcessorTaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Byom processor tasks: write the slot's model to EFS, nothing else",
    });
    props.fileSystem.fileSystem.grant(
      processorTaskRole,
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    );

    // Runtimes: task definitions are registered per slot by the StartRuntime step, with these roles.
    const runtimeExecutionRole = new iam.Role(this, "RuntimeExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Byom runtime tasks: pull the runtime images, write their logs",
    });
    runtimeLogs.grantWrite(runtimeExecutionRole);
    const runtimeSecrets = stack.formatArn({
      service: "secretsmanager",
      resource: "secret",
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${RUNTIME_SECRET_NAMES}*`,
    });
    // The passphrase hash reaches a runtime through its task definition's `secrets`.
    runtimeExecutionRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [runtimeSecrets] }),
    );
    const runtimeTaskRole = new iam.Role(this, "RuntimeTaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Byom runtime tasks: read models from EFS, nothing else",
    });
    props.fileSystem.fileSystem.grant(runtimeTaskRole, "elasticfilesystem:ClientMount");
    // Capturing deployments get a task role of their own (created by the workflow, docs/monitoring.md):
    // this boundary caps what any of them can do, whatever policy it is given.
    const captureBoundary = new iam.ManagedPolicy(this, "CaptureRoleBoundary", {
      description: "Byom: the most a capturing deployment's runtime role may do",
      statements: [
        new iam.PolicyStatement({
          actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
          resources: [props.bucket.arnForObjects(`${CAPTURE_PREFIX}*`)],
        }),
        new iam.PolicyStatement({
          actions: ["elasticfilesystem:ClientMount"],
          resources: [props.fileSystem.fileSystem.fileSystemArn],
        }),
      ],
    });
    this.captureBoundary = captureBoundary;
    grantImagePull(this, runtimeExecutionRole, props.images);

    // CONTAINER_ENGINE stays unset here: ECS runs any catalog image (only local mode sets it);
    // CAPTURE_ROOT too: on AWS capture goes to s3://<BUCKET_NAME>/capture.
    const environment: Omit<
      Record<StepSetting, string>,
      ApiSettings | "CONTAINER_ENGINE" | "CAPTURE_ROOT"
    > = {
      TABLE_NAME: props.table.tableName,
      BUCKET_NAME: props.bucket.bucketName,
      MODELS_ROOT: MODELS_MOUNT_PATH,
      CLUSTER_ARN: cluster.clusterArn,
      VPC_ID: props.vpc.vpcId,
      LISTENER_ARN: props.scoring.listener.listenerArn,
      SCORING_BASE_URL: props.scoring.endpointBaseUrl,
      // On the scoring ALB's load balancer, or an internal one of its own (the steps tell by the ARNs).
      SHADOW_LISTENER_ARN: props.scoring.shadowListener.listenerArn,
      SHADOW_BASE_URL: props.scoring.shadowBaseUrl,
      TASK_SUBNET_IDS: props.vpc.selectSubnets(props.taskSubnets).subnetIds.join(","),
      RUNTIME_SECURITY_GROUP_IDS: props.scoring.runtimeSecurityGroup.securityGroupId,
      PROCESSOR_EXECUTION_ROLE_ARN: processorExecutionRole.roleArn,
      PROCESSOR_TASK_ROLE_ARN: processorTaskRole.roleArn,
      RUNTIME_EXECUTION_ROLE_ARN: runtimeExecutionRole.roleArn,
      RUNTIME_TASK_ROLE_ARN: runtimeTaskRole.roleArn,
      CAPTURE_ROLE_BOUNDARY_ARN: captureBoundary.managedPolicyArn,
      RUNTIME_LOG_GROUP: runtimeLogs.logGroupName,
      PROCESSOR_LOG_GROUP: processorLogs.logGroupName,
      ALARM_TOPIC_ARN: props.alarmTopic?.topicArn ?? "",
      EFS_FILE_SYSTEM_ID: props.fileSystem.fileSystem.fileSystemId,
      RUNTIME_CPU: String(props.runtimeCpu ?? 1024),
      RUNTIME_MEMORY_MB: String(props.runtimeMemoryMiB ?? 2048),
      DRAIN_SECONDS: String(drain.toSeconds()),
      MAX_REPLICAS: String(props.maxReplicas ?? DEFAULT_MAX_REPLICAS),
      HEALTH_CHECK_INTERVAL_SECONDS: "5",
      // Each CheckRuntime call polls DescribeTargetHealth for up to 20 s: fewer state transitions.
      HEALTH_CHECK_POLL_SECONDS: "20",
      HEALTH_CHECK_TIMEOUT_SECONDS: "900",
    };
    const filesystem = lambda.FileSystem.fromEfsAccessPoint(
      props.fileSystem.stepsAccessPoint,
      MODELS_MOUNT_PATH,
    );
    const stepFunctions: ByomFunction[] = [];
    // The steps share one log group (streams are named after each function): fewer resources in a
    // stack capped at 500.
    const stepLogs = new logs.LogGroup(this, "StepLogs", { retention: logs.RetentionDays.ONE_MONTH });
    const stepFunction = (state: string, entry: string, invokedByWorkflow = true) => {
      const fn = new ByomFunction(this, `Step${state}`, {
        entry,
        description: `Byom deployer step ${state}`,
        logGroup: stepLogs,
        timeoutSeconds: state === "StageArtifact" ? 900 : 300,
        memoryMb: 1024,
        environment,
        tracing: props.tracing,
        vpc: props.vpc,
        vpcSubnets: props.taskSubnets,
        securityGroups: [this.securityGroup],
        filesystem,
      });
      this.grantStep(fn, props, {
        processorLogs,
        passRoles: [runtimeExecutionRole, runtimeTaskRole, processorExecutionRole, processorTaskRole],
      });
      if (invokedByWorkflow) stepFunctions.push(fn);
      else this.monitor = fn;
      return fn.function;
    };
    const deploySteps = Object.fromEntries(
      Object.entries(DEPLOY_STEP_HANDLERS).map(([state, entry]) => [state, stepFunction(state, entry)]),
    ) as unknown as Record<DeployStep, lambda.IFunction>;
    const deleteSteps = Object.fromEntries(
      Object.entries(DELETE_STEP_HANDLERS).map(([state, entry]) => [state, stepFunction(state, entry)]),
    ) as unknown as Record<DeleteStep, lambda.IFunction>;

    // With imported catalog images' own execution roles (docs/catalog.md, "Permissions").
    const processorRoles = [processorTaskRole.roleArn, processorExecutionRole.roleArn, imageRoleArns(this)];
    this.deployWorkflow = new DeployWorkflow(this, "DeployWorkflow", {
      steps: deploySteps,
      processorTasks: {
        clusterArn: cluster.clusterArn,
        subnetIds: props.vpc.selectSubnets(props.taskSubnets).subnetIds,
        securityGroupIds: [props.scoring.processorSecurityGroup.securityGroupId],
        // The workflow runs only the task definitions it registers per slot (each mounting the
        // slot's own access point), never the catalog's templates with the shared one.
        taskDefinitionArns: [
          stack.formatArn({
            service: "ecs",
            resource: "task-definition",
            resourceName: `${SLOT_PROCESSOR_FAMILIES}:*`,
          }),
        ],
        passRoleArns: processorRoles,
      },
    });
    this.deleteWorkflow = new DeleteWorkflow(this, "DeleteWorkflow", { steps: deleteSteps });

    // The health monitor: HEALTHY deployments whose runtimes stop answering become UNHEALTHY;
    // then the orphan sweep (it removes with the steps' own permissions).
    const monitor = stepFunction("Monitor", MONITOR_HANDLER, false);
    if (this.monitor) this.allowOrphanListing(this.monitor, props);
    // It releases deployments held by executions that stopped: it reads their status.
    monitor.addEnvironment("DEPLOY_STATE_MACHINE_ARN", this.deployWorkflow.stateMachine.stateMachineArn);
    monitor.addEnvironment("DELETE_STATE_MACHINE_ARN", this.deleteWorkflow.stateMachine.stateMachineArn);
    for (const workflow of [this.deployWorkflow, this.deleteWorkflow]) {
      workflow.stateMachine.grantExecution(monitor, "states:DescribeExecution");
    }
    new events.Rule(this, "MonitorSchedule", {
      description: "Byom: check the health of live deployments",
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(monitor, { retryAttempts: 0 })],
    });

    for (const operation of DEPLOYMENT_OPERATIONS) {
      const fn = props.apiFunctions.get(operation);
      if (!fn) continue;
      fn.function.addEnvironment(
        "DEPLOY_STATE_MACHINE_ARN",
        this.deployWorkflow.stateMachine.stateMachineArn,
      );
      fn.function.addEnvironment(
        "DELETE_STATE_MACHINE_ARN",
        this.deleteWorkflow.stateMachine.stateMachineArn,
      );
      // The API refuses a target above it before a workflow starts.
      fn.function.addEnvironment(
        "MAX_REPLICAS" satisfies StepSetting,
        String(props.maxReplicas ?? DEFAULT_MAX_REPLICAS),
      );
      if (operation === "createDeployment" || operation === "updateDeployment") {
        // The API refuses a change that would take the scoring ALB past a quota (alb-quotas.ts).
        fn.function.addEnvironment(
          "ALB_RULES_QUOTA" satisfies StepSetting,
          String(props.albQuotas?.rules ?? DEFAULT_ALB_QUOTAS.rules),
        );
        fn.function.addEnvironment(
          "ALB_TARGET_GROUPS_QUOTA" satisfies StepSetting,
          String(props.albQuotas?.targetGroups ?? DEFAULT_ALB_QUOTAS.targetGroups),
        );
      }
      if (operation === "createDeployment")
        fn.function.addEnvironment(
          "UNAUTHENTICATED_SCORING" satisfies StepSetting,
          props.unauthenticatedScoring ?? "allowed",
        );
      if (operation === "getDeployment") this.allowReplicaCounts(fn, cluster);
      if (WORKFLOW_STARTING_OPERATIONS.includes(operation)) {
        for (const workflow of [this.deployWorkflow, this.deleteWorkflow]) {
          workflow.stateMachine.grantStartExecution(fn.function);
          // To take over a deployment from an execution that stopped without releasing it.
          workflow.stateMachine.grantExecution(fn.function, "states:DescribeExecution");
        }
      }
    }
    this.acknowledge(stepFunctions, processorLogs);
  }

  /**
   * The orphan sweep lists what carries the byom:deployment tag (aws-serving.ts, taggedResources):
   * target groups and rules with their tags, the cluster's services, the byom- task definition
   * families, the models file system's access points and the byom/ secrets.
   */
  private allowOrphanListing(fn: ByomFunction, props: ServingWorkflowsProps): void {
    const stack = Stack.of(this);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "elasticloadbalancing:DescribeTargetGroups",
          "elasticloadbalancing:DescribeTags",
          "ecs:ListTaskDefinitionFamilies",
          "ecs:ListTaskDefinitions",
          "secretsmanager:ListSecrets",
        ],
        resources: ["*"],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:ListServices"],
        resources: ["*"],
        conditions: { ArnEquals: { "ecs:cluster": props.scoring.cluster.clusterArn } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:ListTagsForResource"],
        resources: [
          stack.formatArn({ service: "ecs", resource: "service", resourceName: "*" }),
          stack.formatArn({ service: "ecs", resource: "task-definition", resourceName: "byom-*" }),
        ],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["elasticfilesystem:DescribeAccessPoints"],
        resources: [props.fileSystem.fileSystem.fileSystemArn],
      }),
    );
  }

  /**
   * GET a deployment shows each target's replicas (desired, running, healthy): DescribeServices on
   * this cluster's services and the target groups' health (lambdas/deployments/serving/aws-replica-status.ts).
   */
  private allowReplicaCounts(fn: ByomFunction, cluster: ecs.ICluster): void {
    fn.function.addEnvironment("CLUSTER_ARN" satisfies StepSetting, cluster.clusterArn);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:DescribeServices"],
        resources: [Stack.of(this).formatArn({ service: "ecs", resource: "service", resourceName: "*" })],
        conditions: { ArnEquals: { "ecs:cluster": cluster.clusterArn } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["elasticloadbalancing:DescribeTargetHealth"], resources: ["*"] }),
    );
    Validations.of(fn).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "elasticloadbalancing:DescribeTargetHealth has no resource-level permissions; the function reads how many of a deployment's runtime tasks pass their health check.",
    });
    Validations.of(fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${Token.isUnresolved(Stack.of(this).region) ? "<AWS::Partition>" : "aws"}:ecs:${Token.isUnresolved(Stack.of(this).region) ? "<AWS::Region>" : Stack.of(this).region}:<AWS::AccountId>:service/*]`,
      reason:
        "Runtime services are created per deployment at run time; DescribeServices is limited to this cluster by an ecs:cluster condition.",
    });
  }

  /** The runtimes' passphrase secrets the steps create and remove (`byom/<deployment>/<slot>`). */
  private grantRuntimeSecrets(fn: ByomFunction): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "secretsmanager:CreateSecret",
          "secretsmanager:PutSecretValue",
          "secretsmanager:DescribeSecret",
          "secretsmanager:DeleteSecret",
          "secretsmanager:TagResource",
        ],
        resources: [
          Stack.of(this).formatArn({
            service: "secretsmanager",
            resource: "secret",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            resourceName: `${RUNTIME_SECRET_NAMES}*`,
          }),
        ],
      }),
    );
  }

  /** What the steps do: the table, artifacts, ECS services and task definitions, ELB groups and rules. */
  private grantStep(
    fn: ByomFunction,
    props: ServingWorkflowsProps,
    extra: { processorLogs: logs.ILogGroup; passRoles: iam.IRole[] },
  ): void {
    const stack = Stack.of(this);
    const cluster = props.scoring.cluster.clusterArn;
    this.grantRuntimeSecrets(fn);
    // The deployments' alarms (docs/monitoring.md), all named byom-<deploymentId>-…
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
        resources: [
          stack.formatArn({
            service: "cloudwatch",
            resource: "alarm",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            resourceName: `${ALARM_NAME_PREFIX}*`,
          }),
        ],
      }),
    );
    // Capturing deployments' roles: created only with the boundary, passed only to ECS tasks.
    const captureRoles = rolesUnder(this, CAPTURE_ROLE_PATH);
    allowBoundedRoles(fn.role, this, CAPTURE_ROLE_PATH, this.captureBoundary);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [captureRoles],
        conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      }),
    );
    // Replica bounds of runtime services (resource-level permissions exist only for the target's
    // ARN, which is known after registration): registered, changed and removed with the slot.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "application-autoscaling:RegisterScalableTarget",
          "application-autoscaling:DeregisterScalableTarget",
          "application-autoscaling:PutScalingPolicy",
          "application-autoscaling:DescribeScalableTargets",
        ],
        resources: ["*"],
      }),
    );
    // Application Auto Scaling scales ECS services through its service-linked role.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["iam:CreateServiceLinkedRole"],
        resources: [
          stack.formatArn({
            service: "iam",
            region: "",
            resource: "role",
            resourceName:
              "aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
          }),
        ],
        conditions: { StringLike: { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" } },
      }),
    );
    props.table.grantReadWriteData(fn.function);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // GetObjectVersion: staging reads the object version a model version pinned.
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
      }),
    );
    // Root through the steps' access point: they hand each slot's directory to its own user.
    props.fileSystem.fileSystem.grant(
      fn.role,
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
      "elasticfilesystem:ClientRootAccess",
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["elasticfilesystem:CreateAccessPoint"],
        resources: [props.fileSystem.fileSystem.fileSystemArn],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["elasticfilesystem:DeleteAccessPoint", "elasticfilesystem:TagResource"],
        resources: [
          stack.formatArn({ service: "elasticfilesystem", resource: "access-point", resourceName: "*" }),
        ],
        conditions: { StringLike: { "aws:ResourceTag/byom:slot": "*" } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "ecs:RegisterTaskDefinition",
          "ecs:DeregisterTaskDefinition",
          "ecs:DescribeTaskDefinition",
          "ecs:TagResource",
        ],
        resources: ["*"],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices"],
        resources: [stack.formatArn({ service: "ecs", resource: "service", resourceName: "*" })],
        conditions: { ArnEquals: { "ecs:cluster": cluster } },
      }),
    );
    // Why a runtime task stopped (a pull failure, a container that exited): the deployment's reason.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:ListTasks"],
        resources: ["*"],
        conditions: { ArnEquals: { "ecs:cluster": cluster } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecs:DescribeTasks"],
        resources: [stack.formatArn({ service: "ecs", resource: "task", resourceName: "*" })],
        conditions: { ArnEquals: { "ecs:cluster": cluster } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["iam:PassRole"],
        // Runtime roles, and the processors' (their task definitions are registered per slot).
        resources: [
          ...extra.passRoles.map((role) => role.roleArn),
          // Imported catalog images' execution roles (docs/catalog.md, "Permissions").
          imageRoleArns(this),
        ],
        conditions: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "elasticloadbalancing:CreateTargetGroup",
          "elasticloadbalancing:DeleteTargetGroup",
          "elasticloadbalancing:ModifyTargetGroupAttributes",
          "elasticloadbalancing:CreateRule",
          "elasticloadbalancing:ModifyRule",
          "elasticloadbalancing:DeleteRule",
          "elasticloadbalancing:AddTags",
        ],
        resources: [
          stack.formatArn({
            service: "elasticloadbalancing",
            resource: "targetgroup",
            resourceName: "byom-*",
          }),
          stack.formatArn({
            service: "elasticloadbalancing",
            resource: "listener-rule",
            resourceName: "app/*",
          }),
          props.scoring.listener.listenerArn,
          props.scoring.shadowListener.listenerArn,
        ],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth"],
        resources: ["*"],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["logs:GetLogEvents"],
        resources: [`${extra.processorLogs.logGroupArn}:*`],
      }),
    );
  }

  /**
   * cdk-nag findings that are the design, each naming the exact resource, so that a new wildcard
   * anywhere else still fails synth.
   */
  private acknowledge(steps: readonly ByomFunction[], processorLogs: logs.LogGroup): void {
    const stack = Stack.of(this);
    const arnOf = (construct: unknown) =>
      `<${stack.resolve((construct as { node: { defaultChild: CfnResource } }).node.defaultChild.logicalId)}.Arn>`;
    const region = Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
    const partition = Token.isUnresolved(stack.region) ? "<AWS::Partition>" : "aws";
    const arn = (service: string, resource: string) =>
      `arn:${partition}:${service}:${region}:<AWS::AccountId>:${resource}`;
    const reasons: Record<string, string> = {
      "AwsSolutions-IAM5[Resource::*]":
        "APIs without resource-level permissions: ecs:RegisterTaskDefinition/DeregisterTaskDefinition/DescribeTaskDefinition, ecs:ListTasks (limited to this cluster by an ecs:cluster condition), application-autoscaling on services created at run time, elasticloadbalancing:Describe*, ecr:GetAuthorizationToken for image pulls, and the X-Ray and log-delivery calls of the state machines.",
      [`AwsSolutions-IAM5[Resource::${arnOf(processorLogs)}:*]`]:
        "Steps read the log streams of processor tasks in this one log group to report why a processor failed.",
      [`AwsSolutions-IAM5[Resource::arn:${partition}:iam::<AWS::AccountId>:role${IMAGE_ROLE_PATH}*]`]:
        "Each imported catalog image has an execution role of its own, created by the catalog under /byom/images/ with the image role boundary; the steps and the deploy state machine pass them to ECS tasks only.",
      [`AwsSolutions-IAM5[Resource::arn:${partition}:iam::<AWS::AccountId>:role${CAPTURE_ROLE_PATH}*]`]:
        "Capturing deployments get a task role each, created at run time under /byom/capture/; creating one or putting its policy requires the capture boundary, and it may be passed to ECS tasks only.",
      [`AwsSolutions-IAM5[Resource::${arn("ecs", "service/*")}]`]:
        "Runtime services are created per deployment at run time; the statement is limited to this cluster by an ecs:cluster condition.",
      [`AwsSolutions-IAM5[Resource::${arn("ecs", "task/*")}]`]:
        "runTask.sync watches and stops the processor tasks it starts, and the steps read why a runtime task stopped; limited to this cluster by an ecs:cluster condition.",
      [`AwsSolutions-IAM5[Resource::${arn("cloudwatch", `alarm:${ALARM_NAME_PREFIX}*`)}]`]:
        "Each deployment's two alarms are created at run time, all named byom-<deploymentId>-…; the steps put and delete only those.",
      [`AwsSolutions-IAM5[Resource::${arn("elasticloadbalancing", "targetgroup/byom-*")}]`]:
        "Target groups are created per deployment slot at run time, all named byom-<slot>.",
      [`AwsSolutions-IAM5[Resource::${arn("elasticloadbalancing", "listener-rule/app/*")}]`]:
        "Listener rules are created per deployment at run time on the scoring and shadow listeners.",
      [`AwsSolutions-IAM5[Resource::${arn("ecs", `task-definition/${SLOT_PROCESSOR_FAMILIES}:*`)}]`]:
        "Processor task definitions are registered per slot at run time (each mounting the slot's own access point), all in families byom-<deployment>-<slot>-processor; limited to this cluster by an ecs:cluster condition.",
      [`AwsSolutions-IAM5[Resource::${arn("ecs", "task-definition/byom-*")}]`]:
        "The orphan sweep reads the tags of the task definitions the workflow registers per slot, all in families byom-<deployment>-<slot>[-processor].",
      [`AwsSolutions-IAM5[Resource::${arn("elasticfilesystem", "access-point/*")}]`]:
        "Each slot's access point is created at run time; deleting and tagging is limited to access points tagged byom:slot.",
      [`AwsSolutions-IAM5[Resource::${arn("secretsmanager", `secret:${RUNTIME_SECRET_NAMES}*`)}]`]:
        "Each runtime slot's passphrase-hash secret is created at run time, named byom/<deployment>/<slot>; runtimes read and the steps manage only secrets under that prefix.",
    };
    for (const step of steps) {
      reasons[`AwsSolutions-IAM5[Resource::${arnOf(step.function)}:*]`] =
        "The state machine invokes its own step functions and their versions (ARN:*), nothing else.";
    }
    for (const [id, reason] of Object.entries(reasons)) Validations.of(this).acknowledge({ id, reason });

    // DescribeExecution on the executions of the two state machines (names are generated per change).
    const executionsOf = (stateMachine: unknown) => {
      const name = JSON.stringify({
        "Fn::Select": [
          6,
          {
            "Fn::Split": [
              ":",
              {
                Ref: stack.resolve(
                  (stateMachine as { node: { defaultChild: CfnResource } }).node.defaultChild.logicalId,
                ),
              },
            ],
          },
        ],
      });
      return `AwsSolutions-IAM5[Resource::${arn("states", `execution:${name}:*`)}]`;
    };
    const describers = [
      ...WORKFLOW_STARTING_OPERATIONS.map((operation) => this.apiFunctions.get(operation)).filter(
        (fn): fn is ByomFunction => fn !== undefined,
      ),
      ...(this.monitor ? [this.monitor] : []),
    ];
    for (const fn of describers) {
      for (const workflow of [this.deployWorkflow, this.deleteWorkflow]) {
        Validations.of(fn).acknowledge({
          id: executionsOf(workflow.stateMachine),
          reason:
            "Execution names are generated per change; the function reads only the status of this state machine's executions, to release a deployment held by one that stopped.",
        });
      }
    }
  }
}
