import { ValidationFailedError } from "#lambdas/shared/errors.ts";

/**
 * What a deployment target may ask for: task size and replica bounds (docs/deployments.md, Capacity).
 * The API checks a request with these rules before anything starts; the AWS adapter sizes the
 * Fargate task and its autoscaling from them.
 */
export const FARGATE_CPU = ["0.25", "0.5", "1", "2", "4", "8", "16"] as const;
export type FargateCpu = (typeof FARGATE_CPU)[number];

const range = (from: number, to: number, step: number) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/** Fargate's memory sizes (MiB) for each vCPU size (Amazon ECS, "Task CPU and memory"). */
const FARGATE_MEMORY_MIB: Readonly<Record<FargateCpu, readonly number[]>> = {
  "0.25": [512, 1024, 2048],
  "0.5": range(1024, 4096, 1024),
  "1": range(2048, 8192, 1024),
  "2": range(4096, 16384, 1024),
  "4": range(8192, 30720, 1024),
  "8": range(16384, 61440, 4096),
  "16": range(32768, 122880, 8192),
};

export const validMemoryMiB = (cpu: FargateCpu): readonly number[] => FARGATE_MEMORY_MIB[cpu];

export interface Replicas {
  readonly min: number;
  readonly max: number;
}

export interface Resources {
  readonly cpu: FargateCpu;
  readonly memoryMiB: number;
  readonly replicas: Replicas;
}

/** A target's `resources` as the API takes it: every field optional. */
export interface ResourcesSpec {
  readonly cpu?: FargateCpu | undefined;
  readonly memoryMiB?: number | undefined;
  readonly replicas?: Partial<Replicas> | undefined;
}

/** Today's size: one task of 1 vCPU and 2 GiB. */
export const DEFAULT_RESOURCES: Resources = { cpu: "1", memoryMiB: 2048, replicas: { min: 1, max: 1 } };
/** The installation's replica limit when the CDK app (byom:maxReplicas) or local mode sets none. */
export const DEFAULT_MAX_REPLICAS = 10;

/** The memory a cpu size gets when a target names none: 2 GiB where Fargate allows it, else its smallest. */
export function defaultMemoryMiB(cpu: FargateCpu): number {
  const valid = validMemoryMiB(cpu);
  return valid.includes(DEFAULT_RESOURCES.memoryMiB) ? DEFAULT_RESOURCES.memoryMiB : (valid[0] as number);
}

/** ECS's CPU units for a vCPU size. */
export const cpuUnits = (cpu: FargateCpu) => Math.round(Number(cpu) * 1024);

/**
 * The resources a target gets: defaults filled in, checked against Fargate's sizes and the
 * installation's replica limit. `path` names the target in a 400's details.
 */
export function resolveResources(
  spec: ResourcesSpec | undefined,
  maxReplicas: number,
  path: string,
): Resources {
  const cpu = spec?.cpu ?? DEFAULT_RESOURCES.cpu;
  const valid = validMemoryMiB(cpu);
  const memoryMiB = spec?.memoryMiB ?? defaultMemoryMiB(cpu);
  const min = spec?.replicas?.min ?? Math.min(DEFAULT_RESOURCES.replicas.min, spec?.replicas?.max ?? 1);
  const max = spec?.replicas?.max ?? Math.max(DEFAULT_RESOURCES.replicas.max, min);
  const fail = (field: string, message: string): never => {
    throw new ValidationFailedError(message, [{ path: `${path}.${field}`, message }]);
  };
  if (!valid.includes(memoryMiB))
    fail(
      "memoryMiB",
      `Fargate runs ${cpu} vCPU with ${valid.join(", ")} MiB of memory; ${memoryMiB} MiB is not one of them.`,
    );
  if (min > max) fail("replicas", `replicas.min (${min}) is above replicas.max (${max}).`);
  if (max > maxReplicas)
    fail(
      "replicas.max",
      `replicas.max ${max} is above this installation's limit of ${maxReplicas} (the CDK context value byom:maxReplicas sets it).`,
    );
  return { cpu, memoryMiB, replicas: { min, max } };
}

/**
 * Target tracking aims at this many ALB requests per task per minute, and at this CPU share (AWS);
 * local mode tracks requests in flight per replica process instead (it has no per-minute ALB metric).
 */
export const SCALING_TARGETS = {
  requestsPerReplicaPerMinute: 1000,
  cpuPercent: 70,
  inFlightPerReplica: 2,
} as const;

/**
 * How soon after a change the next one may follow (ms): out fast, in slowly, so a burst does not
 * flap. AWS's policies use these (in seconds); local mode divides them by its own factor (seconds
 * of local load are what minutes are on AWS), keeping the ratio.
 */
export const SCALING_COOLDOWNS_MS = { scaleOut: 60_000, scaleIn: 300_000 } as const;

/** Below this share of the target, load counts as low enough to remove a replica (hysteresis). */
const SCALE_IN_HEADROOM = 0.9;

export interface ScalingInput {
  readonly replicas: Replicas;
  /** Replicas asked for now (ECS's desired count, or local mode's). */
  readonly current: number;
  /** The tracked metric's total over all replicas (requests per minute, or requests in flight). */
  readonly load: number;
  /** The metric's target per replica. */
  readonly targetPerReplica: number;
  /** Milliseconds since the last change, and the cooldowns that apply. */
  readonly sinceLastChangeMs: number;
  readonly cooldownsMs: { readonly scaleOut: number; readonly scaleIn: number };
}

/**
 * The replica count target tracking asks for: enough replicas that each carries at most its target
 * (ceil(load / target)), within min..max; out as soon as the scale-out cooldown allows, in only when
 * the load fits one replica fewer with headroom and the longer scale-in cooldown has passed. This is
 * Application Auto Scaling's target-tracking rule, which applies it on AWS from the policies
 * aws-serving.ts registers with these targets and cooldowns; local mode's router runs it itself.
 */
export function desiredReplicas(input: ScalingInput): number {
  const { min, max } = input.replicas;
  const clamp = (n: number) => Math.min(max, Math.max(min, n));
  const current = clamp(input.current);
  if (current !== input.current) return current;
  const needed = clamp(Math.ceil(input.load / input.targetPerReplica));
  if (needed > current) return input.sinceLastChangeMs >= input.cooldownsMs.scaleOut ? needed : current;
  const fewer = clamp(Math.ceil(input.load / (input.targetPerReplica * SCALE_IN_HEADROOM)));
  if (fewer < current && input.sinceLastChangeMs >= input.cooldownsMs.scaleIn)
    // One at a time, as target tracking scales in gradually.
    return current - 1;
  return current;
}

/** What a target runs now: replicas asked for, started, and passing the health check. */
export interface ReplicaCounts {
  readonly desired: number;
  readonly running: number;
  readonly healthy: number;
}
