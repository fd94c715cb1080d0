import type { Slot, SlotResources } from "./model.ts";

/**
 * The per-deployment infrastructure the workflow creates and removes: on AWS an ECS service behind
 * an ALB target group and listener rules (aws-serving.ts); in local mode a supervised process behind
 * the local router (local/local-serving.ts). The workflow's steps see only this port.
 */
export interface RuntimeLaunch {
  readonly slot: Slot;
  readonly deploymentId: string;
  /** Container environment: MODEL_PATH, MODEL_ID, the runtime's catalog env, the passphrase hash. */
  readonly environment: Readonly<Record<string, string>>;
  readonly targetGroupArn: string;
}

export interface TrafficTarget {
  readonly targetGroupArn: string;
  readonly weight: number;
}

export interface TrafficRule {
  readonly deploymentId: string;
  /** Path prefix the rule matches (`/{deploymentId}` or a slot's own prefix); it is stripped. */
  readonly pathPrefix: string;
  readonly targets: readonly TrafficTarget[];
  /** A target that gets a copy of every request; its answers are recorded, never returned. */
  readonly shadow?: TrafficTarget | undefined;
}

export type RuntimeHealth =
  | { readonly state: "healthy" }
  | { readonly state: "starting"; readonly detail: string }
  | { readonly state: "failing"; readonly detail: string };

export interface ServingInfrastructure {
  createTargetGroup(deploymentId: string, slot: Slot): Promise<string>;
  deleteTargetGroup(targetGroupArn: string): Promise<void>;
  /** Creates or replaces the rule for `rule.pathPrefix`; returns its id (an ARN on AWS). */
  putTrafficRule(rule: TrafficRule, existingRuleArn?: string): Promise<string>;
  deleteTrafficRule(ruleArn: string): Promise<void>;
  startRuntime(
    launch: RuntimeLaunch,
  ): Promise<Required<Pick<SlotResources, "taskDefinitionArn" | "serviceArn">>>;
  stopRuntime(resources: SlotResources): Promise<void>;
  runtimeHealth(slot: Slot): Promise<RuntimeHealth>;
  /** Where the workflow reaches one healthy slot directly, to verify it before traffic moves. */
  slotEndpoint(deploymentId: string, slot: Slot): Promise<string>;
  /** The last line a processor task logged, to explain a failure (undefined when none was kept). */
  processorLogTail(taskArn: string, containerName: string): Promise<string | undefined>;
  /** The base URL under which deployments answer (the ALB, or the local router). */
  readonly endpointBaseUrl: string;
}
