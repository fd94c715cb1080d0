import { optionalEnv } from "#lambdas/shared/env.ts";

export interface ProcessorTaskDefinition {
  readonly taskDefinitionArn: string;
  readonly containerName: string;
}

export interface WorkflowSettings {
  /** Processor name → the ECS task definition that runs its image (set by the CDK app). */
  readonly processorTaskDefinitions: Readonly<Record<string, ProcessorTaskDefinition>>;
  /** Pause between health checks (a Wait state). */
  readonly healthIntervalSeconds: number;
  /** How long one CheckRuntime call keeps polling before it hands back to the Wait (0: one look). */
  readonly healthPollSeconds: number;
  /** How long a runtime may take to become ready before the deployment fails. */
  readonly healthTimeoutSeconds: number;
  /** How long the previous revision keeps answering in-flight requests after a switch. */
  readonly drainSeconds: number;
}

let cached: WorkflowSettings | undefined;

/** The deployer's settings, read once from the environment the CDK app (or local mode) sets. */
export function workflowSettings(): WorkflowSettings {
  cached ??= {
    processorTaskDefinitions: JSON.parse(optionalEnv("PROCESSOR_TASK_DEFINITIONS", "{}")) as Record<
      string,
      ProcessorTaskDefinition
    >,
    healthIntervalSeconds: positive("HEALTH_CHECK_INTERVAL_SECONDS", 10),
    healthPollSeconds: Number(optionalEnv("HEALTH_CHECK_POLL_SECONDS", "0")),
    healthTimeoutSeconds: positive("HEALTH_CHECK_TIMEOUT_SECONDS", 900),
    drainSeconds: positive("DRAIN_SECONDS", 30),
  };
  return cached;
}

function positive(name: string, fallback: number): number {
  const value = Number(optionalEnv(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number.`);
  return value;
}
