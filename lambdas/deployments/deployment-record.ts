import type { Resources, ResourcesSpec } from "#lambdas/deployments/capacity.ts";

/**
 * The deployer's vocabulary (docs/concepts.md): deployments, their targets, and the slots that serve them.
 * A slot is one processed model version running in one runtime service behind one target group;
 * a deployment's traffic rule splits requests between its live slots.
 */
export const DEPLOYMENT_MODES = ["single", "ab", "champion_challenger"] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

export const DEPLOYMENT_STATUSES = [
  "PENDING",
  "PROCESSING",
  "STARTING",
  "HEALTHY",
  "UNHEALTHY",
  "FAILED",
  "DELETING",
  "DELETED",
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export const TARGET_ROLES = ["primary", "champion", "challenger"] as const;
export type TargetRole = (typeof TARGET_ROLES)[number];

/** A target as the API takes it. */
export interface TargetSpec {
  readonly resources?: ResourcesSpec | undefined;
  readonly modelId: string;
  readonly version: number;
  readonly runtime?: string | undefined;
  readonly processor?: string | undefined;
  readonly weight?: number | undefined;
  readonly role?: TargetRole | undefined;
  /** Runtime settings the runtime's catalog entry declares settable (docs/deployments.md). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /**
   * Stored, never shown: which names of `env` are secret, so that GET answers "***" for them
   * without reading the catalog (which may have changed since).
   */
  readonly secretEnv?: readonly string[] | undefined;
}

export interface SchemaColumnRef {
  readonly name: string;
  readonly type: string;
}

/** A target with everything the workflow needs resolved from the registry and the catalog. */
export interface ResolvedTarget {
  readonly modelId: string;
  readonly modelName: string;
  readonly version: number;
  readonly experimentId: string;
  readonly artifactId: string;
  readonly artifactType: string;
  readonly objectKey: string;
  readonly processor: string;
  readonly runtime: string;
  /** The entry's env with the target's settings merged over it. */
  readonly runtimeEnv: Readonly<Record<string, string>>;
  /** Names in runtimeEnv whose values are secret: on AWS they go through Secrets Manager. */
  readonly secretEnv?: readonly string[];
  /**
   * What ECS runs, from the catalog entries when the target was resolved: `repository@sha256:…`
   * once an image is pinned, else the entry's image (docs/catalog.md). Absent in local mode's
   * built-ins (they run as processes) and on slots recorded before images came from the catalog.
   */
  readonly images?: { readonly processor: string; readonly runtime: string };
  /**
   * The execution roles of imported images' entries, each pulling only its own repository
   * (docs/catalog.md); absent: the installation's roles, which pull only the built-ins.
   */
  readonly executionRoles?: { readonly processor?: string; readonly runtime?: string };
  /** The processor entry's env (the contract's variables are added per run). */
  readonly processorEnv?: Readonly<Record<string, string>>;
  /** The runtime entry's health path: the target group's health check (docs/catalog.md). */
  readonly healthPath?: string;
  readonly framework: string | null;
  readonly inputSchema: readonly SchemaColumnRef[];
  readonly outputSchema: readonly SchemaColumnRef[] | null;
  /** Share of traffic in percent (0 for a shadow challenger). */
  readonly weight: number;
  readonly role: TargetRole;
  /** Task size and replica bounds (absent on slots built before capacity existed: the defaults). */
  readonly resources?: Resources;
  /** The deployment's capture share when the slot was planned (absent: 0, capture off). */
  readonly capturePercent?: number;
}

/** The per-deployment cloud resources a slot owns; each is recorded as soon as it exists. */
export interface SlotResources {
  readonly targetGroupArn?: string;
  /**
   * A challenger's second target group, on the shadow listener's own load balancer (AWS with an
   * internet-facing scoring ALB: a target group belongs to one load balancer only).
   */
  readonly shadowTargetGroupArn?: string;
  readonly slotRuleArn?: string;
  readonly taskDefinitionArn?: string;
  readonly serviceArn?: string;
  /**
   * The slot's own entry to the models volume (an EFS access point rooted at the slot's directory,
   * with a POSIX owner of its own): its processor and runtime mount only this.
   */
  readonly accessPointId?: string;
  /** The processor's task definition registered for this slot (mounting only the slot's volume). */
  readonly processorTaskDefinitionArn?: string;
  /** The Secrets Manager secret (JSON) holding the passphrase hash and secret settings its task reads (AWS). */
  readonly passphraseSecretArn?: string;
}

export interface Slot {
  readonly slotId: string;
  /** The target's place in the deployment's list of targets (slots are listed in that order). */
  readonly position: number;
  readonly revision: number;
  readonly target: ResolvedTarget;
  readonly resources: SlotResources;
}

export interface DeploymentEvent {
  readonly at: string;
  readonly status: DeploymentStatus;
  readonly message: string;
}

/**
 * Request capture (docs/monitoring.md): the share of score requests each runtime writes, typed by
 * the schema, under `capture/{deploymentId}/{target}/`, and how many of the first captured rows
 * stand in as the drift baseline of a version with no reference dataset.
 */
export interface CaptureSettings {
  readonly samplePercent: number;
  readonly baselineRows: number;
}

export const DEFAULT_CAPTURE: CaptureSettings = { samplePercent: 0, baselineRows: 1000 };

export type SecurityRecord =
  | { readonly mode: "none" }
  | { readonly mode: "passphrase"; readonly passphraseHash: string };

export interface DeploymentRecord {
  readonly projectId: string;
  readonly deploymentId: string;
  readonly name: string;
  readonly mode: DeploymentMode;
  /** The targets asked for by the latest create or PATCH. */
  readonly targets: readonly TargetSpec[];
  readonly security: SecurityRecord;
  /** Absent on deployments created before capture existed: DEFAULT_CAPTURE. */
  readonly capture?: CaptureSettings;
  readonly status: DeploymentStatus;
  readonly failureReason: string | null;
  readonly endpointUrl: string | null;
  readonly events: readonly DeploymentEvent[];
  /** Incremented by every PATCH; the workflow builds the slots of this revision. */
  readonly revision: number;
  /** The revision traffic goes to (0 before the first one is live). */
  readonly liveRevision: number;
  /** Slots serving traffic. */
  readonly slots: readonly Slot[];
  /** Slots being built for `revision`, not yet serving. */
  readonly pendingSlots: readonly Slot[];
  /** The rule sending `/{deploymentId}/*` to the live slots (null before the first switch). */
  readonly trafficRuleArn: string | null;
  /**
   * Champion/challenger: the rule sending the champion's copies (`/{deploymentId}/shadow/*`, on the
   * listener only runtimes reach) to the challenger; absent or null otherwise.
   */
  readonly shadowRuleArn?: string | null;
  /** Set while a workflow works on the deployment; a second change waits for it. */
  readonly activeWorkflow: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
}

/** What a deployment's creator decides; everything else of a new record starts the same. */
export type NewDeploymentFields = Pick<
  DeploymentRecord,
  "projectId" | "deploymentId" | "name" | "mode" | "targets" | "security" | "capture" | "createdBy"
>;

/** A new deployment as its POST writes it: PENDING, nothing serving, claimed by its deploy workflow. */
export function newDeploymentRecord(
  fields: NewDeploymentFields,
  workflowId: string,
  now: string,
  events: readonly DeploymentEvent[] = [],
): DeploymentRecord {
  return {
    ...fields,
    status: "PENDING",
    failureReason: null,
    endpointUrl: null,
    events,
    revision: 1,
    liveRevision: 0,
    slots: [],
    pendingSlots: [],
    trafficRuleArn: null,
    activeWorkflow: workflowId,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * A target's runtime MODEL_ID, also the Target dimension of its metrics and the folder of its
 * captured requests: one per model version, stable across revisions (docs/monitoring.md).
 */
export const modelIdOf = (target: Pick<ResolvedTarget, "modelId" | "version">) =>
  `${target.modelId}-v${target.version}`;

/** How a request reaches a deployment: through its traffic rule or one slot's own rule. */
export const deploymentPathPrefix = (deploymentId: string) => `/${deploymentId}`;
export const slotPathPrefix = (deploymentId: string, slotId: string) => `/${deploymentId}/slots/${slotId}`;
/** Where a champion sends its shadow copies: the same for every revision, whoever the challenger is. */
export const shadowPathPrefix = (deploymentId: string) => `/${deploymentId}/shadow`;
/**
 * A runtime never mirrors a request carrying this header (runtime-images/python/byom_scorer/shadow.py):
 * its own copies carry it, and so do the workflow's verification requests, which are not user traffic.
 */
export const SHADOW_HEADER = "x-byom-shadow";
