import { randomBytes } from "node:crypto";
import { albUseOf, albUseOfTargets } from "#lambdas/deployments/alb-quotas.ts";
import {
  type AlbReservation,
  reserveAlb,
  restoreAlbReservation,
} from "#lambdas/deployments/alb-reservations.ts";
import { DeploymentNotFoundError } from "#lambdas/deployments/api/deployment-not-found.ts";
import { hashPassphrase } from "#lambdas/deployments/api/passphrase-hash.ts";
import { DEFAULT_RESOURCES } from "#lambdas/deployments/capacity.ts";
import {
  type CaptureSettings,
  DEFAULT_CAPTURE,
  type DeploymentMode,
  type DeploymentRecord,
  newDeploymentRecord,
  type ResolvedTarget,
  type TargetSpec,
} from "#lambdas/deployments/deployment-record.ts";
import {
  changeDeployment,
  type DeploymentChange,
  getDeployment,
  listDeployments as listDeploymentItems,
  putNewDeployment,
} from "#lambdas/deployments/deployments-repository.ts";
import { registryReader } from "#lambdas/deployments/registry-reader.ts";
import { replicaStatusSource } from "#lambdas/deployments/serving/replica-status.ts";
import {
  ALLOW_UNAUTHENTICATED_SCORING_CONTEXT,
  type StepSetting,
} from "#lambdas/deployments/serving-contract.ts";
import { resolveTargets } from "#lambdas/deployments/target-resolution.ts";
import {
  startWorkflow,
  type WorkflowKind,
  workflowRunning,
} from "#lambdas/deployments/workflow-executions.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";

export { DeploymentNotFoundError } from "#lambdas/deployments/api/deployment-not-found.ts";

export class DeploymentBusyError extends ConflictError {
  override readonly code = "DEPLOYMENT_BUSY";
  constructor(record: DeploymentRecord) {
    super(
      `Deployment '${record.deploymentId}' is ${record.status} and a workflow is still working on it. Wait until GET shows it HEALTHY or FAILED, then retry.`,
      [{ message: "busy", status: record.status }],
    );
  }
}

export class UnauthenticatedScoringRefusedError extends ConflictError {
  override readonly code = "UNAUTHENTICATED_SCORING_REFUSED";
  constructor() {
    super(
      `This installation's scoring endpoint is internet-facing: a deployment needs security {"mode": "passphrase", "passphrase": ...}. To serve deployments without one, deploy the stack with -c ${ALLOW_UNAUTHENTICATED_SCORING_CONTEXT}=true.`,
      [{ path: "body.security.mode", message: "refused on an internet-facing installation" }],
    );
  }
}

/** Read when a deployment is created: the CDK app sets it on the API functions; local mode allows. */
const unauthenticatedScoringAllowed = () =>
  optionalEnv("UNAUTHENTICATED_SCORING" satisfies StepSetting, "allowed") !== "refused";

export type SecurityInput = { mode: "none" } | { mode: "passphrase"; passphrase: string };

export interface NewDeployment {
  readonly name: string;
  readonly mode: DeploymentMode;
  readonly targets: readonly TargetSpec[];
  readonly security: SecurityInput;
  readonly capture?: CaptureInput | undefined;
}

export interface CaptureInput {
  readonly samplePercent: number;
  readonly baselineRows?: number | undefined;
}

/** Settings asked for over the current ones (a PATCH may send only samplePercent). */
const captureOf = (
  input: CaptureInput | undefined,
  current: CaptureSettings = DEFAULT_CAPTURE,
): CaptureSettings =>
  input === undefined
    ? current
    : { samplePercent: input.samplePercent, baselineRows: input.baselineRows ?? current.baselineRows };

export interface DeploymentView {
  readonly deploymentId: string;
  readonly projectId: string;
  readonly name: string;
  readonly mode: DeploymentMode;
  readonly targets: readonly TargetSpec[];
  readonly security: { readonly mode: "none" | "passphrase" };
  readonly capture: CaptureSettings;
  readonly status: DeploymentRecord["status"];
  readonly failureReason: string | null;
  readonly endpointUrl: string | null;
  readonly serving: ReadonlyArray<Record<string, unknown>>;
  readonly revision: number;
  readonly liveRevision: number;
  readonly events: DeploymentRecord["events"];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
}

const workflowIdOf = (kind: WorkflowKind, deploymentId: string, revision: number) =>
  `${kind}-${deploymentId}-r${revision}-${randomBytes(3).toString("hex")}`;

/**
 * Creates a deployment. Everything that can be known before the workflow starts is checked first
 * (mode rules, the versions, their schemas, a READY artifact, a composition): a refused request
 * changes nothing.
 */
export async function createDeployment(
  caller: Caller,
  projectId: string,
  input: NewDeployment,
): Promise<DeploymentView> {
  await authorize(caller, projectId, "editor");
  if (input.security.mode === "none" && !unauthenticatedScoringAllowed())
    throw new UnauthenticatedScoringRefusedError();
  const capture = captureOf(input.capture);
  const targets = withSecretNames(
    input.targets,
    await resolveTargets(registryReader, projectId, input.mode, input.targets, {
      securityMode: input.security.mode,
      capture: capture.samplePercent > 0,
    }),
  );
  const now = nowIso();
  const deploymentId = newId("dep");
  const workflowId = workflowIdOf("deploy", deploymentId, 1);
  // 409 before anything is written when the load balancer has no room; reserved atomically.
  await reserveAlb(deploymentId, albUseOfTargets(input.mode, targets.length), workflowId);
  const record = newDeploymentRecord(
    {
      projectId,
      deploymentId,
      name: input.name,
      mode: input.mode,
      targets,
      security:
        input.security.mode === "passphrase"
          ? { mode: "passphrase", passphraseHash: await hashPassphrase(input.security.passphrase) }
          : { mode: "none" },
      capture,
      createdBy: caller.principal,
    },
    workflowId,
    now,
    [{ at: now, status: "PENDING", message: `Deployment requested by ${caller.principal}.` }],
  );
  await restoringAlbOnFailure(deploymentId, workflowId, undefined, () => putNewDeployment(record));
  await start("deploy", record, workflowId, { previous: undefined });
  return deploymentView((await getDeployment(projectId, deploymentId)) ?? record);
}

export async function showDeployment(
  caller: Caller,
  projectId: string,
  deploymentId: string,
): Promise<DeploymentView> {
  await authorize(caller, projectId, "viewer");
  const record = await findDeployment(projectId, deploymentId);
  const view = deploymentView(record);
  const counts = await replicaStatusSource()
    .then((source) => source.replicaCounts(record.slots))
    .catch((error: Error) => {
      // The record still answers; `replicas` is left out rather than made up.
      logger.warn("replica counts unavailable", { deploymentId, error: error.message });
      return new Map();
    });
  return {
    ...view,
    serving: view.serving.map((entry, i) => {
      const replicas = counts.get(record.slots[i]?.slotId ?? "");
      return replicas ? { ...entry, replicas } : entry;
    }),
  };
}

export async function listDeployments(
  caller: Caller,
  projectId: string,
  page: PageRequest,
): Promise<Page<DeploymentView>> {
  await authorize(caller, projectId, "viewer");
  const found = await listDeploymentItems(projectId, page);
  return { items: found.items.map(deploymentView), nextCursor: found.nextCursor };
}

/**
 * New targets (other versions, other weights) or capture settings for a deployment; the live
 * revision serves until the new one does (a runtime reads its capture share once, at start).
 */
export async function updateDeployment(
  caller: Caller,
  projectId: string,
  deploymentId: string,
  input: { targets?: readonly TargetSpec[] | undefined; capture?: CaptureInput | undefined },
): Promise<DeploymentView> {
  await authorize(caller, projectId, "editor");
  const record = await findDeployment(projectId, deploymentId);
  const asked = input.targets ? keepSecretValues(input.targets, record.targets) : record.targets;
  const capture = captureOf(input.capture, record.capture);
  const targets = withSecretNames(
    asked,
    await resolveTargets(registryReader, projectId, record.mode, asked, {
      securityMode: record.security.mode,
      capture: capture.samplePercent > 0,
    }),
  );
  if (record.status === "DELETING" || record.status === "DELETED") {
    throw new ConflictError(`Deployment '${deploymentId}' is being deleted; create a new one instead.`);
  }
  // At its peak the deployment holds its live slots and the new revision's side by side (a slot
  // the new revision reuses is counted twice: the check errs on the safe side).
  const holds = albUseOf(record);
  const revision = record.revision + 1;
  const workflowId = workflowIdOf("deploy", deploymentId, revision);
  const previous = await reserveAlb(
    deploymentId,
    { rules: holds.rules + targets.length, targetGroups: holds.targetGroups + targets.length },
    workflowId,
  );
  await restoringAlbOnFailure(deploymentId, workflowId, previous, () =>
    claim(record, workflowId, {
      set: { targets, capture, revision, failureReason: null, updatedAt: nowIso() },
      event: {
        at: nowIso(),
        status: record.status,
        message: `Revision ${revision} requested by ${caller.principal}.`,
      },
    }),
  );
  await start("deploy", { ...record, revision }, workflowId, { previous });
  return deploymentView(await findDeployment(projectId, deploymentId));
}

/** Starts the delete workflow: DELETING now, gone (404) once every resource is removed. */
export async function deleteDeployment(
  caller: Caller,
  projectId: string,
  deploymentId: string,
): Promise<DeploymentView> {
  await authorize(caller, projectId, "editor");
  const record = await findDeployment(projectId, deploymentId);
  const workflowId = workflowIdOf("delete", deploymentId, record.revision);
  await claim(record, workflowId, {
    set: { status: "DELETING", updatedAt: nowIso() },
    event: { at: nowIso(), status: "DELETING", message: `Delete requested by ${caller.principal}.` },
  });
  await start("delete", record, workflowId);
  return deploymentView(await findDeployment(projectId, deploymentId));
}

/**
 * Takes the deployment for a new workflow: free, or held by an execution that no longer runs (it
 * timed out or was stopped and could not release it). Otherwise 409.
 */
async function claim(
  record: DeploymentRecord,
  workflowId: string,
  change: Pick<DeploymentChange, "set" | "event">,
): Promise<void> {
  const { projectId, deploymentId } = record;
  if (await changeDeployment(projectId, deploymentId, { ...change, claimFor: workflowId })) return;
  const current = (await getDeployment(projectId, deploymentId)) ?? record;
  const holder = current.activeWorkflow;
  if (holder && !(await workflowRunning(holder))) {
    const takenOver = await changeDeployment(projectId, deploymentId, {
      ...change,
      set: { ...change.set, activeWorkflow: workflowId },
      heldBy: holder,
    });
    if (takenOver) {
      logger.warn("took over a deployment from a workflow that no longer runs", { deploymentId, holder });
      return;
    }
  }
  throw new DeploymentBusyError(current);
}

async function findDeployment(projectId: string, deploymentId: string): Promise<DeploymentRecord> {
  const record = await getDeployment(projectId, deploymentId);
  if (!record) throw new DeploymentNotFoundError(projectId, deploymentId);
  return record;
}

/** The write that follows a reservation; if it fails, the reservation it replaced is put back. */
async function restoringAlbOnFailure(
  deploymentId: string,
  workflowId: string,
  previous: AlbReservation | undefined,
  write: () => Promise<unknown>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    await restoreAlbReservation(deploymentId, workflowId, previous);
    throw error;
  }
}

/**
 * Starts the workflow; if it cannot start, the deployment is released and says why, and a deploy
 * puts back the load balancer reservation it replaced.
 */
async function start(
  kind: WorkflowKind,
  record: DeploymentRecord,
  workflowId: string,
  reserved?: { readonly previous: AlbReservation | undefined },
): Promise<void> {
  try {
    await startWorkflow(kind, { projectId: record.projectId, deploymentId: record.deploymentId, workflowId });
  } catch (error) {
    logger.error("workflow did not start", { deploymentId: record.deploymentId, error: error as Error });
    const reason = `The ${kind} workflow could not start: ${(error as Error).message}. Retry the request.`;
    await changeDeployment(record.projectId, record.deploymentId, {
      set: {
        activeWorkflow: null,
        ...(record.liveRevision === 0 || kind === "delete" ? { status: "FAILED" as const } : {}),
        failureReason: reason,
        updatedAt: nowIso(),
      },
      event: { at: nowIso(), status: "FAILED", message: reason },
      heldBy: workflowId,
    });
    if (reserved) await restoreAlbReservation(record.deploymentId, workflowId, reserved.previous);
    throw error;
  }
}

/** The targets as stored: each remembers which of its settings are secret, for GET to hide. */
function withSecretNames(targets: readonly TargetSpec[], resolved: readonly ResolvedTarget[]): TargetSpec[] {
  return targets.map((target, i) => {
    const secretEnv = resolved[i]?.secretEnv ?? [];
    return secretEnv.length > 0 ? { ...target, secretEnv } : target;
  });
}

/**
 * A PATCH may send back the targets GET showed: a secret setting still "***" keeps the value the
 * same model version's target has now, rather than becoming "***".
 */
function keepSecretValues(targets: readonly TargetSpec[], current: readonly TargetSpec[]): TargetSpec[] {
  return targets.map((target) => {
    const before = current.find((c) => c.modelId === target.modelId && c.version === target.version);
    if (!target.env || !before?.env || !before.secretEnv?.length) return target;
    const env = Object.fromEntries(
      Object.entries(target.env).map(([name, value]) => [
        name,
        value === SECRET_MASK && before.secretEnv?.includes(name) ? (before.env?.[name] ?? value) : value,
      ]),
    );
    return { ...target, env };
  });
}

/** A target as GET shows it: the values of secret settings are never shown. */
export const SECRET_MASK = "***";
function targetView({ secretEnv, ...target }: TargetSpec): TargetSpec {
  if (!target.env || !secretEnv?.length) return target;
  const env = Object.fromEntries(
    Object.entries(target.env).map(([name, value]) => [name, secretEnv.includes(name) ? SECRET_MASK : value]),
  );
  return { ...target, env };
}

export function deploymentView(record: DeploymentRecord): DeploymentView {
  return {
    deploymentId: record.deploymentId,
    projectId: record.projectId,
    name: record.name,
    mode: record.mode,
    targets: record.targets.map(targetView),
    security: { mode: record.security.mode },
    capture: record.capture ?? DEFAULT_CAPTURE,
    status: record.status,
    failureReason: record.failureReason,
    endpointUrl: record.endpointUrl,
    serving: record.slots.map(({ target }) => ({
      modelId: target.modelId,
      modelName: target.modelName,
      version: target.version,
      runtime: target.runtime,
      processor: target.processor,
      weight: target.weight,
      role: target.role,
      resources: target.resources ?? DEFAULT_RESOURCES,
    })),
    revision: record.revision,
    liveRevision: record.liveRevision,
    events: record.events,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    createdBy: record.createdBy,
  };
}
