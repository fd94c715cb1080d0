import { createHash } from "node:crypto";
import { StreamingObjectWriter } from "#lambdas/artifacts/artifact-objects.ts";
import { type ArtifactView, artifactView, createInternalArtifact } from "#lambdas/artifacts/artifacts.ts";
import { failUpload, getArtifact, setUploadedObject } from "#lambdas/artifacts/artifacts-repository.ts";
import {
  createExperimentRecord,
  type ExperimentView,
  experimentView,
} from "#lambdas/experiments/experiments.ts";
import { getExperiment } from "#lambdas/experiments/experiments-repository.ts";
import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/job-runner.ts";
import type { JobProgress } from "#lambdas/jobs/jobs-repository.ts";
import { authorize } from "#lambdas/projects/access.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError, DomainError, UpstreamError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { artifactObjectKey } from "#lambdas/shared/object-keys.ts";
import type { MlflowImportRequest } from "./imports.ts";
import { MlflowRegistry } from "./mlflow-registry.ts";
import { allowedMlflowHosts, pinHost } from "./pinned-host.ts";
import { ZipStreamWriter } from "./zip-writer.ts";

const MAX_FILES = Number(optionalEnv("BYOM_IMPORT_MAX_FILES", "10000"));
const MAX_TOTAL_BYTES = Number(optionalEnv("BYOM_IMPORT_MAX_BYTES", String(50 * 1024 ** 3)));
/** Progress is written at most this often while bytes stream (one table write each). */
const PROGRESS_EVERY_MS = 2000;
/** What an import job's `result` holds once SUCCEEDED (the API's MlflowImport). */
export interface MlflowImportResult {
  readonly experiment: ExperimentView;
  readonly artifact: ArtifactView;
}

interface ImportInput extends MlflowImportRequest {
  readonly experimentId: string;
  readonly artifactId: string;
}

/**
 * The job that imports one model version from an MLflow Model Registry (started by
 * POST …/imports/mlflow, imports.ts): pins the host, checks the version upstream first (a refused
 * import creates nothing), creates the experiment with `source_model_name` and
 * `source_model_version`, then streams the version's files into a zip in S3 (multipart, never a
 * whole file in memory). The zip's ObjectCreated event runs the normal ingestion. A zip stream
 * cannot be resumed in another invocation, so a transfer that would outrun the worker's time ends
 * the job FAILED with the reason (docs/ingestion.md).
 */
export async function runMlflowImport({ job, hasTime, progress }: JobChunk): Promise<ChunkOutcome> {
  const input = job.input as unknown as ImportInput;
  const { trackingUri, modelName, version } = input;
  // Whoever started it must still be an editor of a project that is not being deleted.
  await authorize({ principal: job.createdBy }, job.projectId, "editor");
  const ref = { projectId: job.projectId, experimentId: input.experimentId, artifactId: input.artifactId };

  // A redelivered job whose earlier attempt finished the transfer only reports it.
  const earlier = await getExperiment(ref.projectId, ref.experimentId);
  const found = earlier && (await getArtifact(ref));
  if (earlier && found) {
    const artifact = found;
    if (artifact.status !== "UPLOADING") {
      if (artifact.status === "FAILED") {
        throw new UpstreamError(artifact.failureReason ?? "The import's transfer failed. Import again.");
      }
      return done(experimentView(earlier), artifactView(artifact), artifact.sizeBytes);
    }
  }

  // The request checked the host already (imports.ts); checked again here, and the connection
  // pinned to what resolves now, because DNS can answer differently by the time the job runs.
  const pinned = await pinHost(new URL(trackingUri), allowedMlflowHosts());
  const registry = new MlflowRegistry(trackingUri, pinned);
  const modelVersion = await registry.modelVersion(modelName, version);
  if (modelVersion.status !== "READY") {
    throw new ConflictError(
      `Model '${modelName}' version ${version} is ${modelVersion.status} in the MLflow Model Registry, not READY. Import it once its registration has finished.`,
    );
  }
  const root = await registry.downloadPath(modelName, version);
  const files = await registry.listFiles(root, MAX_FILES);
  if (!files.some((f) => f.path === "MLmodel")) {
    throw new ValidationFailedError(
      `Model '${modelName}' version ${version} has no MLmodel file at its artifact root (${root}): it is not an MLflow model, so it cannot be imported.`,
    );
  }
  const total = files.reduce((sum, f) => sum + f.sizeBytes, 0);
  if (total > MAX_TOTAL_BYTES) {
    throw new ValidationFailedError(
      `Model '${modelName}' version ${version} holds ${total} bytes, more than the ${MAX_TOTAL_BYTES} an import may copy.`,
    );
  }

  const experiment = earlier
    ? experimentView(earlier)
    : await createExperimentRecord(
        ref.projectId,
        {
          name: `${modelName} v${version}`.slice(0, 200),
          description: `Imported from the MLflow Model Registry at ${trackingUri}.`,
          metadata: {
            source_model_name: { string_value: modelName },
            source_model_version: { string_value: version },
            source_tracking_uri: { string_value: trackingUri },
            ...(modelVersion.runId ? { source_run_id: { string_value: modelVersion.runId } } : {}),
          },
        },
        job.createdBy,
        ref.experimentId,
      );
  const artifact = await createInternalArtifact(
    ref,
    {
      type: "python/mlflow",
      fileName: `${modelName.replace(/[^A-Za-z0-9._-]+/g, "_")}-v${version}.zip`,
      sizeBytes: total,
    },
    sourceOf(input),
    job.createdBy,
  );

  const writer = new StreamingObjectWriter(
    artifactObjectKey(ref.projectId, ref.experimentId, ref.artifactId),
  );
  const hash = createHash("sha256");
  let size = 0;
  let filesDone = 0;
  let reported = Date.now();
  const step = (): JobProgress => ({
    done: size,
    total,
    message: `${filesDone} of ${files.length} file(s) copied (${size} of ${total} bytes)`,
  });
  try {
    const zip = new ZipStreamWriter(async (chunk) => {
      if (!hasTime()) {
        throw new OutOfTime(
          `it did not finish within one run of the job worker (${size} of ${total} bytes copied). A model this large cannot be imported; export it with MLflow and upload it with 'byom upload' (multipart, resumable).`,
        );
      }
      hash.update(chunk);
      size += chunk.length;
      await writer.write(chunk);
      if (Date.now() - reported >= PROGRESS_EVERY_MS) {
        reported = Date.now();
        await progress(step());
      }
    });
    for (const file of files) {
      await zip.addFile(file.path, await registry.download(root, file.path, file.sizeBytes), file.sizeBytes);
      filesDone += 1;
    }
    await zip.finish();
    // Recorded before the object exists, so ingestion checks the zip against what was written.
    await setUploadedObject(ref, size, hash.digest("hex"), nowIso());
    await writer.close();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    const reason =
      error instanceof DomainError || error instanceof OutOfTime
        ? error.message
        : `the transfer failed (${(error as Error).message})`;
    await failUpload(
      ref,
      `Import from ${trackingUri} broke off: ${reason} Import the model version again.`,
      nowIso(),
    );
    logger.warn("MLflow import failed during transfer", { ...ref, error: (error as Error).message });
    throw new UpstreamError(
      `Importing model '${modelName}' version ${version} from ${trackingUri} broke off: ${reason} Experiment '${ref.experimentId}' keeps a FAILED artifact; import the version again.`,
    );
  }
  return done(experiment, artifactView({ ...artifact, sizeBytes: size }), size, files.length);
}

function done(
  experiment: ExperimentView,
  artifact: ArtifactView,
  bytes: number,
  fileCount?: number,
): ChunkOutcome {
  const result: MlflowImportResult = { experiment, artifact };
  return {
    done: true,
    result,
    progress: {
      done: bytes,
      total: bytes,
      message: `${fileCount === undefined ? "" : `${fileCount} file(s), `}${bytes} bytes copied; ingestion follows`,
    },
  };
}

/** The worker's time ran out mid-transfer (its message is the reason). */
class OutOfTime extends Error {}

const sourceOf = (input: ImportInput) => `mlflow:${input.trackingUri}#${input.modelName}/${input.version}`;
