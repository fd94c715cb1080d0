/**
 * The contract between the deployments feature and what runs it: the CDK app (cdk/), the Lambdas and
 * local mode (local/) import these names instead of spelling them. Nothing here reads the
 * environment or imports an SDK, so the CDK app loads it freely.
 */

/** Every deployment alarm's name starts so (docs/monitoring.md): the steps may put and delete only those. */
export const ALARM_NAME_PREFIX = "byom-";

/** The container port every runtime serves the scorer API on (docs/runtimes.md). */
export const RUNTIME_PORT = 8080;
/** The container every processor task definition names (the state machine overrides its env). */
export const PROCESSOR_CONTAINER = "processor";
/** What the target group checks on a slot recorded before targets carried their health path. */
export const LEGACY_HEALTH_PATH = "/readyz";
/** The shadow listener's port: champions send their copies there, clients never reach it. */
export const SHADOW_PORT = 8081;
/** Where the models volume (EFS) is mounted in the step Lambdas and every task (MODELS_ROOT). */
export const MODELS_MOUNT_PATH = "/mnt/models";
/**
 * The models' directory on the file system: the steps' access point is rooted here, and each slot's
 * own access point at `<MODELS_FILE_SYSTEM_PATH>/<deploymentId>/<slotId>`.
 */
export const MODELS_FILE_SYSTEM_PATH = "/models";

/**
 * The environment of the deployer's step Lambdas (and of the deployments API functions, which read
 * the state machine ARNs): the CDK app sets every name, local mode the ones its adapters need.
 */
export const STEP_SETTINGS = {
  TABLE_NAME: "the registry table",
  BUCKET_NAME: "the artifact bucket",
  MODELS_ROOT: "where the models volume is mounted",
  CLUSTER_ARN: "the ECS cluster runtime services run in",
  VPC_ID: "the VPC of the target groups",
  LISTENER_ARN: "the scoring listener",
  SCORING_BASE_URL: "the base URL deployments answer under",
  SHADOW_LISTENER_ARN: "the listener only runtimes reach (shadow copies)",
  SHADOW_BASE_URL: "the shadow listener's URL as runtimes reach it",
  TASK_SUBNET_IDS: "comma-separated subnets of runtime tasks",
  RUNTIME_SECURITY_GROUP_IDS: "comma-separated security groups of runtime tasks",
  PROCESSOR_EXECUTION_ROLE_ARN: "the execution role of processor tasks",
  PROCESSOR_TASK_ROLE_ARN: "the task role of processor tasks",
  RUNTIME_EXECUTION_ROLE_ARN: "the execution role of runtime tasks",
  RUNTIME_TASK_ROLE_ARN: "the task role of runtime tasks",
  RUNTIME_LOG_GROUP: "the log group of runtime tasks",
  PROCESSOR_LOG_GROUP: "the log group of processor tasks",
  ALARM_TOPIC_ARN: "an SNS topic the deployments' alarms notify (context byom:alarmTopicArn), or empty",
  EFS_FILE_SYSTEM_ID: "the models file system",
  RUNTIME_CPU: "vCPU units of a runtime task",
  RUNTIME_MEMORY_MB: "memory of a runtime task in MiB",
  DRAIN_SECONDS: "how long a previous revision drains after a switch",
  HEALTH_CHECK_INTERVAL_SECONDS: "pause between health checks (a Wait state)",
  HEALTH_CHECK_POLL_SECONDS: "how long one CheckRuntime call polls",
  HEALTH_CHECK_TIMEOUT_SECONDS: "how long a runtime may take to become ready",
  DEPLOY_STATE_MACHINE_ARN: "the deploy workflow",
  DELETE_STATE_MACHINE_ARN: "the delete workflow",
  MAX_REPLICAS: "the most replicas a target may ask for (context byom:maxReplicas)",
  ALB_RULES_QUOTA:
    "the account's 'Rules per Application Load Balancer' quota (context byom:albRulesQuota, default 100)",
  ALB_TARGET_GROUPS_QUOTA:
    "the account's 'Target groups per Application Load Balancer' quota (context byom:albTargetGroupsQuota, default 100)",
  CONTAINER_ENGINE:
    "`none` in local mode: only built-in processors and runtimes run (as processes), a deployment of an image-only catalog entry gets 409; unset on AWS, where ECS runs any image",
  CAPTURE_ROOT:
    "where runtimes write captured requests: a folder in local mode; unset on AWS, where it is s3://<BUCKET_NAME>/capture",
  CAPTURE_ROLE_BOUNDARY_ARN:
    "the permissions boundary of capturing deployments' own task roles (AWS): at most PutObject under capture/ and the models mount",
  UNAUTHENTICATED_SCORING:
    "`allowed`, or `refused` (an internet-facing install without byom:allowUnauthenticatedScoring): whether a deployment may take security mode none",
} as const;
/** The context value that lets an internet-facing install serve deployments without a passphrase. */
export const ALLOW_UNAUTHENTICATED_SCORING_CONTEXT = "byom:allowUnauthenticatedScoring";
export type StepSetting = keyof typeof STEP_SETTINGS;

/** What a processor task gets (docs/runtimes.md): the raw artifact, where to write, the schema. */
export type ProcessorEnvironment = Readonly<
  Record<"SOURCE_PATH" | "TARGET_PATH" | "BYOM_MODEL_ID" | "BYOM_INPUT_SCHEMA", string> &
    Partial<Record<"BYOM_OUTPUT_SCHEMA" | "BYOM_FRAMEWORK", string>>
>;

/**
 * What a runtime gets besides its catalog env: the model, its id, the passphrase hash of a
 * protected deployment, the deployment's name (the V2 model name), for a champion where to mirror
 * its requests and, with capture on, where and how much to capture (docs/monitoring.md).
 */
export type RuntimeEnvironment = Readonly<
  Record<"MODEL_PATH" | "MODEL_ID", string> &
    Partial<
      Record<
        | "BYOM_PASSPHRASE_HASH"
        | "BYOM_SHADOW_URL"
        | "BYOM_MODEL_NAME"
        | "BYOM_CAPTURE_URI"
        | "BYOM_CAPTURE_PERCENT"
        | "BYOM_DEPLOYMENT_ID",
        string
      >
    > &
    Record<string, string>
>;

/**
 * State names of the deploy and delete state machines: the CDK constructs build the definitions
 * with them and local mode binds each Task state to its step function by name.
 */
export const DEPLOY_STATES = {
  prepare: "Prepare",
  buildSlots: "BuildSlots",
  stageArtifact: "StageArtifact",
  runProcessor: "RunProcessor",
  createTargetGroup: "CreateTargetGroup",
  startRuntime: "StartRuntime",
  waitForRuntime: "WaitForRuntime",
  checkRuntime: "CheckRuntime",
  runtimeReady: "RuntimeReady",
  verifySample: "VerifySampleScore",
  switchTraffic: "SwitchTraffic",
  drain: "Drain",
  retireSlots: "RetireOldSlots",
  recordFailure: "RecordFailure",
  failed: "DeployFailed",
} as const;

export const DELETE_STATES = {
  teardown: "Teardown",
  forget: "Forget",
  recordFailure: "RecordTeardownFailure",
  failed: "DeleteFailed",
} as const;

/** The Lambda-backed steps, each with its handler module (one per file). */
export const DEPLOY_STEP_HANDLERS = {
  [DEPLOY_STATES.prepare]: "lambdas/deployments/workflow/handlers/prepare.ts",
  [DEPLOY_STATES.stageArtifact]: "lambdas/deployments/workflow/handlers/stage-artifact.ts",
  [DEPLOY_STATES.createTargetGroup]: "lambdas/deployments/workflow/handlers/create-target-group.ts",
  [DEPLOY_STATES.startRuntime]: "lambdas/deployments/workflow/handlers/start-runtime.ts",
  [DEPLOY_STATES.checkRuntime]: "lambdas/deployments/workflow/handlers/check-runtime.ts",
  [DEPLOY_STATES.verifySample]: "lambdas/deployments/workflow/handlers/verify-sample.ts",
  [DEPLOY_STATES.switchTraffic]: "lambdas/deployments/workflow/handlers/switch-traffic.ts",
  [DEPLOY_STATES.retireSlots]: "lambdas/deployments/workflow/handlers/retire-slots.ts",
  [DEPLOY_STATES.recordFailure]: "lambdas/deployments/workflow/handlers/record-failure.ts",
} as const;

export const DELETE_STEP_HANDLERS = {
  [DELETE_STATES.teardown]: "lambdas/deployments/workflow/handlers/teardown.ts",
  [DELETE_STATES.forget]: "lambdas/deployments/workflow/handlers/forget.ts",
  [DELETE_STATES.recordFailure]: "lambdas/deployments/workflow/handlers/record-teardown-failure.ts",
} as const;

/** The scheduled health monitor's handler (not a workflow step). */
export const MONITOR_HANDLER = "lambdas/deployments/workflow/handlers/monitor.ts";

export type DeployStep = keyof typeof DEPLOY_STEP_HANDLERS;
export type DeleteStep = keyof typeof DELETE_STEP_HANDLERS;
