import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError, NotFoundError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import {
  type ExperimentRecord,
  getExperiment,
  listExperiments as listExperimentItems,
  putNewExperiment,
  type RegistrationClaim,
  updateExperimentMetadata,
} from "./experiments-repository.ts";
import { validateMetadataPatch } from "./metadata.ts";

/** An experiment as the API shows it: the record, with a registration only once it has finished. */
export type ExperimentView = Omit<ExperimentRecord, "registeredAs"> & {
  readonly registeredAs: { readonly modelId: string; readonly version: number } | null;
};

export interface NewExperiment {
  readonly name: string;
  readonly description?: string | undefined;
  /** Value objects as a request carries them; validated and normalised here. */
  readonly metadata?: Record<string, unknown> | undefined;
}

export class ExperimentNotFoundError extends NotFoundError {
  constructor(projectId: string, experimentId: string) {
    super("Experiment", experimentId, `List the experiments with GET /v1/projects/${projectId}/experiments.`);
  }
}

export class ExperimentRegisteredError extends ConflictError {
  constructor(experimentId: string, modelId: string, version: number | undefined, hint: string) {
    super(
      version === undefined
        ? `Experiment '${experimentId}' is being registered as a version of model '${modelId}' right now; an experiment becomes at most one model version. ${hint}`
        : `Experiment '${experimentId}' is already version ${version} of model '${modelId}'; an experiment becomes at most one model version. ${hint}`,
      [{ message: "already registered", modelId, ...(version === undefined ? {} : { version }) }],
    );
  }
}

/** The metadata keys a registered version freezes with its artifact (docs/data-model.md). */
export const FROZEN_METADATA_KEYS: readonly string[] = ["input_schema", "output_schema"];

/**
 * A change to what a registered version is made of: its model bytes or its schema. A version always
 * means the same bytes and schema, so these are refused once the experiment is (being) registered.
 */
export class ExperimentFrozenError extends ConflictError {
  override readonly code = "EXPERIMENT_REGISTERED";
  constructor(projectId: string, experimentId: string, what: string, claim: RegistrationClaim | undefined) {
    const as =
      claim?.version !== undefined
        ? `version ${claim.version} of model '${claim.modelId}'`
        : `a version of model '${claim?.modelId ?? "?"}' (registration in progress)`;
    super(
      `Experiment '${experimentId}' is registered as ${as}, so ${what} can no longer change: a version always means the same bytes and schema. Create a new experiment (POST /v1/projects/${projectId}/experiments) with the new model and register it as the next version. Other metadata stays editable.`,
      [{ message: "experiment registered", ...(claim ?? {}) }],
    );
  }
}

export async function createExperiment(
  caller: Caller,
  projectId: string,
  input: NewExperiment,
): Promise<ExperimentView> {
  await authorize(caller, projectId, "editor");
  return createExperimentRecord(projectId, input, caller.principal);
}

/**
 * Creates an experiment without checking the caller's role: for the S3 drop folder and the MLflow
 * import, whose callers were authorised (or are the platform) already. Metadata goes through the
 * same rules as a PATCH, so a bad schema is refused before anything is written.
 */
export async function createExperimentRecord(
  projectId: string,
  input: NewExperiment,
  createdBy: string,
  /** Chosen ahead by a job that must find its experiment again when redelivered (MLflow imports). */
  experimentId = newId("exp"),
): Promise<ExperimentView> {
  const { set } = validateMetadataPatch(input.metadata ?? {});
  const now = nowIso();
  const record: ExperimentRecord = {
    experimentId,
    projectId,
    name: input.name,
    description: input.description ?? "",
    metadata: set,
    createdAt: now,
    updatedAt: now,
    createdBy,
  };
  await putNewExperiment(record);
  return experimentView(record);
}

export async function showExperiment(
  caller: Caller,
  projectId: string,
  experimentId: string,
): Promise<ExperimentView> {
  await authorize(caller, projectId, "viewer");
  return experimentView(await findExperiment(projectId, experimentId));
}

export async function listExperiments(
  caller: Caller,
  projectId: string,
  page: PageRequest,
): Promise<Page<ExperimentView>> {
  await authorize(caller, projectId, "viewer");
  const experiments = await listExperimentItems(projectId, page);
  return { items: experiments.items.map(experimentView), nextCursor: experiments.nextCursor };
}

export async function patchExperiment(
  caller: Caller,
  projectId: string,
  experimentId: string,
  patch: Record<string, unknown>,
): Promise<ExperimentView> {
  await authorize(caller, projectId, "editor");
  return applyMetadataPatch(projectId, experimentId, patch);
}

/**
 * Merges a metadata patch (`{key: value-object or null}`) into an experiment without checking the
 * caller's role: ingestion uses it to write input_schema/output_schema and flavor metadata. The
 * patch is validated whole before one conditional update applies it, so a rejected patch changes
 * nothing.
 */
export async function applyMetadataPatch(
  projectId: string,
  experimentId: string,
  patch: Record<string, unknown>,
): Promise<ExperimentView> {
  const { set, remove } = validateMetadataPatch(patch);
  const frozen = [...Object.keys(set), ...remove].filter((key) => FROZEN_METADATA_KEYS.includes(key));
  const updated = await updateExperimentMetadata(projectId, experimentId, set, remove, {
    unregisteredOnly: frozen.length > 0,
  });
  if (updated === "registered") {
    const claim = (await getExperiment(projectId, experimentId))?.registeredAs;
    throw new ExperimentFrozenError(projectId, experimentId, `its ${frozen.join(" and ")}`, claim);
  }
  if (!updated) throw new ExperimentNotFoundError(projectId, experimentId);
  return experimentView(updated);
}

/** Deletes an experiment and its artifact records; refused once it is a model version. */
/** The experiment or ExperimentNotFoundError; no authorisation (callers have done it). */
export async function findExperiment(projectId: string, experimentId: string): Promise<ExperimentRecord> {
  const experiment = await getExperiment(projectId, experimentId);
  if (!experiment) throw new ExperimentNotFoundError(projectId, experimentId);
  return experiment;
}

export function experimentView(record: ExperimentRecord): ExperimentView {
  const claim = record.registeredAs;
  return {
    experimentId: record.experimentId,
    projectId: record.projectId,
    name: record.name,
    description: record.description,
    metadata: record.metadata,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    createdBy: record.createdBy,
    registeredAs: claim?.version !== undefined ? { modelId: claim.modelId, version: claim.version } : null,
  };
}
