import type { Slot, SlotResources } from "#lambdas/deployments/deployment-record.ts";

/**
 * The per-deployment infrastructure the workflow creates and removes: on AWS an ECS service behind
 * an ALB target group and listener rules (aws-serving.ts); in local mode a supervised process behind
 * the local router (local/local-serving.ts). The workflow's steps see only this port.
 */
export interface RuntimeLaunch {
  readonly slot: Slot;
  readonly deploymentId: string;
  /**
   * Container environment: MODEL_PATH, MODEL_ID, the runtime's catalog env, the passphrase hash and,
   * for a champion, BYOM_SHADOW_URL (where it mirrors its score requests).
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The task role when it is not the installation's runtime role: a capturing deployment's own
   * (ServingInfrastructure.captureRole).
   */
  readonly taskRoleArn?: string | undefined;
  /** Variables the task reads from a secret at start (name → secret ARN), never in its definition. */
  readonly secrets?: Readonly<Record<string, string>> | undefined;
  readonly targetGroupArn: string;
  /** A challenger's group on the shadow listener's own load balancer: the service registers in both. */
  readonly shadowTargetGroupArn?: string | undefined;
}

export interface TrafficTarget {
  readonly targetGroupArn: string;
  readonly weight: number;
}

/**
 * `scoring`: the listener clients call. `shadow`: the listener only runtimes reach, where a champion
 * sends its copies (an ALB cannot mirror requests: the champion runtime does).
 */
export type TrafficListener = "scoring" | "shadow";

export interface TrafficRule {
  readonly deploymentId: string;
  /** Path prefix the rule matches (`/{deploymentId}`, a slot's or the shadow prefix); it is stripped. */
  readonly pathPrefix: string;
  readonly targets: readonly TrafficTarget[];
  /** @default "scoring" */
  readonly listener?: TrafficListener;
}

/** The slot's own entry to the models volume, and the owner its files get (AWS only). */
export interface SlotVolume {
  readonly accessPointId: string;
  /** The POSIX user and group the slot's processor and runtime run as; undefined locally. */
  readonly owner?: { readonly uid: number; readonly gid: number } | undefined;
}

export type RuntimeHealth =
  | { readonly state: "healthy" }
  | { readonly state: "starting"; readonly detail: string }
  /** Will not become healthy (no target group, a task that cannot start): the workflow stops waiting. */
  | { readonly state: "failing"; readonly detail: string };

export interface ServingInfrastructure {
  /**
   * A target group for the slot's runtime, health-checked on the target's health path. `listener` says whose load
   * balancer it belongs to: `shadow` only when `shadowTargetGroups` says the shadow listener has one
   * of its own. @default "scoring"
   */
  createTargetGroup(deploymentId: string, slot: Slot, listener?: TrafficListener): Promise<string>;
  deleteTargetGroup(targetGroupArn: string): Promise<void>;
  /**
   * The slot's own entry to the models volume: on AWS an EFS access point rooted at the slot's
   * directory with a POSIX user of its own, so its model code reads no other slot's files.
   */
  createSlotVolume(deploymentId: string, slot: Slot): Promise<SlotVolume>;
  deleteSlotVolume(accessPointId: string): Promise<void>;
  /**
   * The task definition the slot's processor runs with: on AWS one registered for the slot from the
   * processor's catalog entry (its pinned image and env), mounting the slot's volume alone.
   */
  processorTaskFor(
    deploymentId: string,
    slot: Slot,
    accessPointId: string,
  ): Promise<{ readonly taskDefinitionArn: string; readonly containerName: string }>;
  deleteProcessorTask(taskDefinitionArn: string): Promise<void>;
  /** Creates or replaces the rule for `rule.pathPrefix`; returns its id (an ARN on AWS). */
  putTrafficRule(rule: TrafficRule, existingRuleArn?: string): Promise<string>;
  deleteTrafficRule(ruleArn: string): Promise<void>;
  /** The deployment's alarms on its 5xx rate and p99 latency (docs/monitoring.md), replaced if they exist. */
  putDeploymentAlarms(deploymentId: string, deploymentName: string): Promise<void>;
  /** Removes them; succeeds when they do not exist. */
  deleteDeploymentAlarms(deploymentId: string): Promise<void>;
  startRuntime(
    launch: RuntimeLaunch,
  ): Promise<Required<Pick<SlotResources, "taskDefinitionArn" | "serviceArn">>>;
  stopRuntime(resources: SlotResources): Promise<void>;
  /**
   * Keeps a runtime's secrets (a JSON object: the passphrase hash, secret settings) where only its
   * task reads them: on AWS a Secrets Manager secret (its ARN, for the task definition's `secrets`);
   * undefined locally, where they stay in the process environment.
   */
  storeRuntimeSecret(deploymentId: string, slot: Slot, value: string): Promise<string | undefined>;
  deleteRuntimeSecret(secretArn: string): Promise<void>;
  runtimeHealth(slot: Slot): Promise<RuntimeHealth>;
  /**
   * The task role of a deployment whose runtimes capture requests (docs/monitoring.md): on AWS a
   * role of its own, under a permissions boundary, that may write only `capture/{deploymentId}/`
   * (model code shares the runtime's process and its credentials). Absent where runtimes write
   * into a folder (local mode). Idempotent.
   */
  captureRole?(deploymentId: string): Promise<string>;
  /** Removes the deployment's capture role, if it has one. */
  deleteCaptureRole?(deploymentId: string): Promise<void>;
  /** Where the workflow reaches one healthy slot directly, to verify it before traffic moves. */
  slotEndpoint(deploymentId: string, slot: Slot): Promise<string>;
  /** The last line a processor task logged, to explain a failure (undefined when none was kept). */
  processorLogTail(taskArn: string, containerName: string): Promise<string | undefined>;
  /** The base URL under which deployments answer (the ALB, or the local router). */
  readonly endpointBaseUrl: string;
  /**
   * The base URL of the shadow listener as runtimes reach it (a champion's BYOM_SHADOW_URL is this
   * plus `/{deploymentId}/shadow`); undefined when runtimes cannot reach one (internet-facing ALB).
   */
  readonly shadowBaseUrl: string | undefined;
  /**
   * True when the shadow listener is on a load balancer of its own (AWS with an internet-facing
   * scoring ALB): a challenger then needs a second target group there, since a target group belongs
   * to one load balancer only.
   */
  readonly shadowTargetGroups: boolean;
}

/** What the orphan sweep looks for: resources the workflow creates, tagged `byom:deployment`. */
export const TAGGED_RESOURCE_KINDS = [
  "listenerRule",
  "service",
  "targetGroup",
  "taskDefinition",
  "accessPoint",
  "secret",
] as const;
export type TaggedResourceKind = (typeof TAGGED_RESOURCE_KINDS)[number];

export interface TaggedResource {
  readonly kind: TaggedResourceKind;
  /** Its ARN (an access point's id). */
  readonly id: string;
  /** The `byom:deployment` tag's value. */
  readonly deploymentId: string;
}

/**
 * The orphan sweep's view of the infrastructure (lambdas/deployments/workflow/orphan-sweep.ts):
 * every resource tagged to a deployment, and its removal.
 */
export interface TaggedResources {
  taggedResources(): Promise<TaggedResource[]>;
  /** Removes one; a resource already gone is no error. */
  deleteTagged(resource: TaggedResource): Promise<void>;
}
