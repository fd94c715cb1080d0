import { optionalEnv } from "#lambdas/shared/env.ts";

export interface ProcessorTaskDefinition {
  readonly taskDefinitionArn: string;
  readonly containerName: string;
}

export interface DeployerSettings {
  /** Processor name → the ECS task definition that runs its image (set by the CDK app). */
  readonly processorTaskDefinitions: Readonly<Record<string, ProcessorTaskDefinition>>;
  readonly healthIntervalSeconds: number;
  readonly healthMaxAttempts: number;
  /** How long the previous revision keeps answering in-flight requests after a switch. */
  readonly drainSeconds: number;
}

let cached: DeployerSettings | undefined;

/** The deployer's settings, read once from the environment the CDK app (or local mode) sets. */
export function deployerSettings(): DeployerSettings {
  cached ??= {
    processorTaskDefinitions: JSON.parse(optionalEnv("PROCESSOR_TASK_DEFINITIONS", "{}")) as Record<
      string,
      ProcessorTaskDefinition
    >,
    healthIntervalSeconds: positive("HEALTH_CHECK_INTERVAL_SECONDS", 10),
    healthMaxAttempts: positive("HEALTH_CHECK_MAX_ATTEMPTS", 60),
    drainSeconds: positive("DRAIN_SECONDS", 30),
  };
  return cached;
}

function positive(name: string, fallback: number): number {
  const value = Number(optionalEnv(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number.`);
  return value;
}
