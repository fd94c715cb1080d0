import { setTimeout as sleep } from "node:timers/promises";
import { listArtifacts } from "#lambdas/artifacts/artifacts-repository.ts";
import {
  ExperimentNotFoundError,
  ExperimentRegisteredError,
  type ExperimentView,
  experimentView,
  findExperiment,
} from "#lambdas/experiments/experiments.ts";
import {
  claimForRegistration,
  completeRegistration,
  getExperiment,
  type RegistrationClaim,
  releaseRegistration,
} from "#lambdas/experiments/experiments-repository.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError, NotFoundError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import {
  type ArtifactPin,
  findRecentVersionOf,
  getLatestVersion,
  getModel,
  getVersion,
  listModels as listModelItems,
  listVersions as listVersionItems,
  type ModelRecord,
  putNewModel,
  putVersionIfFree,
  resyncRegistrationTickets,
  takeRegistrationTicket,
  type VersionRecord,
} from "./models-repository.ts";

export type ModelView = ModelRecord;
export type ModelVersionView = VersionRecord;
export interface ModelVersionWithExperiment extends ModelVersionView {
  readonly experiment: ExperimentView;
}

/**
 * How long a registration may take, counted from its start, before it gives up with a 409 asking
 * to retry (and releases its claim): comfortably inside the register Lambda's 29 s timeout, so a
 * contended registration never ends in a timeout that leaves its outcome unknown.
 */
const REGISTRATION_DEADLINE_MS = Number(optionalEnv("BYOM_REGISTRATION_DEADLINE_MS", "18000"));
/**
 * A claim still without a version after this long belongs to a registration that died (its Lambda
 * timed out long before); the next registration of the experiment repairs it.
 */
const STALE_CLAIM_MS = 60_000;
/** Versions not advancing for this long means a ticket holder ahead died: stop waiting for the turn. */
const STALL_MS = 1_000;
const MAX_PACING_SLEEP_MS = 1_000;
/** The next in line polls at least this often: the chain of versions advances only as fast as it notices. */
const NEXT_IN_LINE_POLL_MS = 40;
/** How long a conflicting registration waits for an in-flight one, so its 409 can name the version. */
const IN_FLIGHT_WAIT_MS = 3_000;

export class ModelNotFoundError extends NotFoundError {
  constructor(projectId: string, modelId: string) {
    super("Model", modelId, `List the models with GET /v1/projects/${projectId}/models.`);
  }
}

export class ModelVersionNotFoundError extends NotFoundError {
  constructor(projectId: string, modelId: string, version: number) {
    super(
      "Model version",
      `${modelId}/${version}`,
      `List the versions with GET /v1/projects/${projectId}/models/${modelId}/versions.`,
    );
  }
}

export class ModelNameTakenError extends ConflictError {
  constructor(name: string, modelId: string) {
    super(
      `A model named '${name}' already exists in this project (${modelId}). Register a new version of it, or choose another name.`,
      [{ message: "name taken", name, modelId }],
    );
  }
}

export class RegistrationContendedError extends ConflictError {
  constructor(modelId: string) {
    super(
      `Too many registrations raced for the next version of model '${modelId}'; nothing was registered. Retry the request.`,
    );
  }
}

export async function createModel(
  caller: Caller,
  projectId: string,
  input: { name: string; description?: string | undefined },
): Promise<ModelView> {
  await authorize(caller, projectId, "editor");
  const model: ModelRecord = {
    modelId: newId("mdl"),
    projectId,
    name: input.name,
    description: input.description ?? "",
    createdAt: nowIso(),
    createdBy: caller.principal,
  };
  const { existingModelId } = await putNewModel(model);
  if (existingModelId) throw new ModelNameTakenError(input.name, existingModelId);
  return model;
}

export async function listModels(
  caller: Caller,
  projectId: string,
  page: PageRequest,
): Promise<Page<ModelView>> {
  await authorize(caller, projectId, "viewer");
  return listModelItems(projectId, page);
}

export async function showModel(caller: Caller, projectId: string, modelId: string): Promise<ModelView> {
  await authorize(caller, projectId, "viewer");
  return findModel(projectId, modelId);
}

export async function listModelVersions(
  caller: Caller,
  projectId: string,
  modelId: string,
  page: PageRequest,
): Promise<Page<ModelVersionView>> {
  await authorize(caller, projectId, "viewer");
  await findModel(projectId, modelId);
  return listVersionItems(projectId, modelId, page);
}

export async function showModelVersion(
  caller: Caller,
  projectId: string,
  modelId: string,
  version: number,
): Promise<ModelVersionWithExperiment> {
  await authorize(caller, projectId, "viewer");
  return getModelVersion(projectId, modelId, version);
}

/** A model version with its experiment, without authorisation: for the deployer. */
export async function getModelVersion(
  projectId: string,
  modelId: string,
  version: number,
): Promise<ModelVersionWithExperiment> {
  const record = await getVersion(projectId, modelId, version);
  if (!record) {
    await findModel(projectId, modelId);
    throw new ModelVersionNotFoundError(projectId, modelId, version);
  }
  const experiment = await findExperiment(projectId, record.experimentId);
  return { ...record, experiment: experimentView(experiment) };
}

/**
 * Registers an experiment as the model's next version. Without transactions (docs/data-model.md):
 * 1. claim the experiment with a conditional update, so it becomes at most one version;
 * 2. allocate the version: read the highest version (consistent), conditionally put N+1, and on a
 *    lost race read again after a jittered backoff; a version N+1 is only ever written after N
 *    exists, so numbers have no gaps and the condition rules out duplicates;
 * 3. record the number on the claim. If allocation fails the claim is released, so a rejected
 *    registration changes nothing.
 */
export async function registerVersion(
  caller: Caller,
  projectId: string,
  modelId: string,
  experimentId: string,
): Promise<ModelVersionView> {
  const deadline = Date.now() + REGISTRATION_DEADLINE_MS;
  await authorize(caller, projectId, "editor");
  await findModel(projectId, modelId);
  const claim: RegistrationClaim = { modelId, claimId: newId("reg"), claimedAt: nowIso() };
  if (!(await claimForRegistration(projectId, experimentId, claim))) {
    await resolveFailedClaim(projectId, experimentId);
    // The previous claim was stale and has been released: one more try.
    if (!(await claimForRegistration(projectId, experimentId, claim))) {
      await resolveFailedClaim(projectId, experimentId);
      throw new RegistrationContendedError(modelId);
    }
  }
  let version: VersionRecord;
  try {
    const pin = await pinArtifact(projectId, experimentId);
    version = await allocateVersion(projectId, modelId, experimentId, pin, caller.principal, deadline);
  } catch (error) {
    await releaseRegistration(projectId, experimentId, claim.claimId);
    throw error;
  }
  await completeRegistration(projectId, experimentId, claim.claimId, version.version);
  return version;
}

/**
 * Allocates the next version number: read the highest version N (consistent) and put N+1 on the
 * condition that it does not exist yet. The registration ticket paces the attempts: a registration
 * with k others ahead of it sleeps about k times the observed time per version instead of racing
 * them all, so 100 concurrent registrations cost a few hundred requests, not thousands. If the
 * versions stop advancing (a ticket holder died), it stops waiting for its turn and races.
 */
async function allocateVersion(
  projectId: string,
  modelId: string,
  experimentId: string,
  artifact: ArtifactPin | null,
  createdBy: string,
  deadline: number,
): Promise<VersionRecord> {
  const ticket = await takeRegistrationTicket(projectId, modelId);
  const started = Date.now();
  let seen = -1;
  let seenAt = started;
  // Milliseconds per version, averaged over what this registration has watched; a guess until then.
  let perVersion = 25;
  let failures = 0;
  for (;;) {
    const latest = (await getLatestVersion(projectId, modelId))?.version ?? 0;
    const now = Date.now();
    if (latest !== seen) {
      if (seen >= 0) perVersion = (perVersion + (now - seenAt) / (latest - seen)) / 2;
      seen = latest;
      seenAt = now;
    }
    const ahead = ticket - 1 - latest;
    const stalled = now - seenAt > STALL_MS;
    if (ahead <= 0 || stalled) {
      const record: VersionRecord = {
        projectId,
        modelId,
        version: latest + 1,
        experimentId,
        artifact,
        createdAt: nowIso(),
        createdBy,
      };
      if (await putVersionIfFree(record)) {
        if (record.version !== ticket)
          await resyncRegistrationTickets(projectId, modelId, ticket, record.version);
        return record;
      }
      failures++;
      if (Date.now() > deadline) throw new RegistrationContendedError(modelId);
      // Full jitter: spread the racers out so one wins each round instead of all colliding again.
      await sleep(Math.random() * Math.min(100, 2 * 2 ** Math.min(failures, 6)));
      continue;
    }
    if (now > deadline) throw new RegistrationContendedError(modelId);
    // Wake a little early (the next in line polls fastest): the chain advances only as fast as the
    // next registration notices its turn.
    const wait =
      ahead === 1
        ? Math.min(NEXT_IN_LINE_POLL_MS, perVersion * (0.25 + Math.random() / 10))
        : ahead * perVersion * (0.75 + Math.random() / 4);
    await sleep(Math.max(0, Math.min(MAX_PACING_SLEEP_MS, wait, deadline - Date.now())));
  }
}

export class ArtifactIngestingError extends ConflictError {
  constructor(experimentId: string, artifactId: string) {
    super(
      `Artifact '${artifactId}' of experiment '${experimentId}' is still being ingested; a version pins its bytes and schema, so registration waits for it. Retry once GET on the artifact shows READY or FAILED.`,
      [{ message: "artifact ingesting", artifactId }],
    );
  }
}

/**
 * The artifact the version will be: the experiment's newest READY one. Read after the experiment is
 * claimed; an artifact still INGESTING refuses the registration (its outcome would change the schema).
 */
async function pinArtifact(projectId: string, experimentId: string): Promise<ArtifactPin | null> {
  let pin: ArtifactPin | null = null;
  let cursor: string | undefined;
  do {
    const page = await listArtifacts(projectId, experimentId, { limit: 100, cursor });
    for (const artifact of page.items) {
      if (artifact.status === "INGESTING")
        throw new ArtifactIngestingError(experimentId, artifact.artifactId);
      if (artifact.status === "READY" && artifact.sha256 && artifact.objectEtag) {
        pin = {
          artifactId: artifact.artifactId,
          type: artifact.type,
          sha256: artifact.sha256,
          sizeBytes: artifact.sizeBytes,
          objectKey: artifact.objectKey,
          etag: artifact.objectEtag,
          versionId: artifact.objectVersionId,
        };
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return pin;
}

/**
 * Explains why the experiment could not be claimed: it does not exist (404) or it is, or is
 * becoming, a version (409 naming the model and, once known, the version). A claim left behind by
 * a registration that died is repaired: completed with the version it wrote, or released (then
 * this returns and the caller claims again).
 */
async function resolveFailedClaim(projectId: string, experimentId: string): Promise<void> {
  const waitUntil = Date.now() + IN_FLIGHT_WAIT_MS;
  for (;;) {
    const experiment = await getExperiment(projectId, experimentId);
    if (!experiment) throw new ExperimentNotFoundError(projectId, experimentId);
    const held = experiment.registeredAs;
    if (!held) return;
    const hint = "Register another experiment, or deploy that version.";
    if (held.version !== undefined) {
      throw new ExperimentRegisteredError(experimentId, held.modelId, held.version, hint);
    }
    if (Date.now() - Date.parse(held.claimedAt) > STALE_CLAIM_MS) {
      const written = await findRecentVersionOf(projectId, held.modelId, experimentId, held.claimedAt);
      if (written) {
        await completeRegistration(projectId, experimentId, held.claimId, written.version);
        throw new ExperimentRegisteredError(experimentId, held.modelId, written.version, hint);
      }
      await releaseRegistration(projectId, experimentId, held.claimId);
      return;
    }
    if (Date.now() > waitUntil)
      throw new ExperimentRegisteredError(experimentId, held.modelId, undefined, hint);
    await sleep(100);
  }
}

async function findModel(projectId: string, modelId: string): Promise<ModelRecord> {
  const model = await getModel(projectId, modelId);
  if (!model) throw new ModelNotFoundError(projectId, modelId);
  return model;
}
