/**
 * State names of the deploy and delete state machines, declared once: the CDK constructs build the
 * definitions with them and local mode binds each Task state to its step function by name.
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
  [DEPLOY_STATES.prepare]: "lambdas/deployer/handlers/prepare.ts",
  [DEPLOY_STATES.stageArtifact]: "lambdas/deployer/handlers/stage-artifact.ts",
  [DEPLOY_STATES.createTargetGroup]: "lambdas/deployer/handlers/create-target-group.ts",
  [DEPLOY_STATES.startRuntime]: "lambdas/deployer/handlers/start-runtime.ts",
  [DEPLOY_STATES.checkRuntime]: "lambdas/deployer/handlers/check-runtime.ts",
  [DEPLOY_STATES.verifySample]: "lambdas/deployer/handlers/verify-sample.ts",
  [DEPLOY_STATES.switchTraffic]: "lambdas/deployer/handlers/switch-traffic.ts",
  [DEPLOY_STATES.retireSlots]: "lambdas/deployer/handlers/retire-slots.ts",
  [DEPLOY_STATES.recordFailure]: "lambdas/deployer/handlers/record-failure.ts",
} as const;

export const DELETE_STEP_HANDLERS = {
  [DELETE_STATES.teardown]: "lambdas/deployer/handlers/teardown.ts",
  [DELETE_STATES.forget]: "lambdas/deployer/handlers/forget.ts",
  [DELETE_STATES.recordFailure]: "lambdas/deployer/handlers/record-teardown-failure.ts",
} as const;

export type DeployStep = keyof typeof DEPLOY_STEP_HANDLERS;
export type DeleteStep = keyof typeof DELETE_STEP_HANDLERS;
