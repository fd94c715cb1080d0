import { createHash } from "node:crypto";
import { StreamingObjectWriter } from "#lambdas/artifacts/artifact-store.ts";
import { type ArtifactView, artifactView, createInternalArtifact } from "#lambdas/artifacts/artifacts.ts";
import { failUpload, setUploadedObject } from "#lambdas/artifacts/artifacts-repository.ts";
import { createExperimentRecord, type ExperimentView } from "#lambdas/experiments/experiments.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError, DomainError, UpstreamError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { artifactObjectKey } from "#lambdas/shared/object-keys.ts";
import { MlflowRegistry } from "./mlflow-registry.ts";
import { pinHost } from "./pinned-host.ts";
import { ZipStreamWriter } from "./zip-writer.ts";

const MAX_FILES = Number(optionalEnv("BYOM_IMPORT_MAX_FILES", "10000"));
const MAX_TOTAL_BYTES = Number(optionalEnv("BYOM_IMPORT_MAX_BYTES", String(50 * 1024 ** 3)));
/**
 * Hosts an import may reach although they resolve to loopback, private or link-local addresses
 * (comma-separated; the CDK app sets it from byom:mlflowAllowedHosts, local mode to loopback).
 */
const ALLOWED_HOSTS = optionalEnv("MLFLOW_ALLOWED_HOSTS", "")
  .split(",")
  .map((h) => h.trim())
  .filter(Boolean);

export interface MlflowImportRequest {
  readonly trackingUri: string;
  readonly modelName: string;
  readonly version: string;
}

export interface MlflowImportResult {
  readonly experiment: ExperimentView;
  readonly artifact: ArtifactView;
}

/**
 * Imports one model version from an MLflow Model Registry: checks it upstream first (a request
 * that is refused changes nothing), creates the experiment with `source_model_name` and
 * `source_model_version`, then streams the version's files into a zip in S3 (multipart, never a
 * whole file in memory). The zip's ObjectCreated event runs the normal ingestion.
 */
export async function importFromMlflow(
  caller: Caller,
  projectId: string,
  input: MlflowImportRequest,
): Promise<MlflowImportResult> {
  await authorize(caller, projectId, "editor");
  const trackingUri = checkTrackingUri(input.trackingUri);
  const registry = new MlflowRegistry(trackingUri, await pinHost(new URL(trackingUri), ALLOWED_HOSTS));
  const modelVersion = await registry.modelVersion(input.modelName, input.version);
  if (modelVersion.status !== "READY") {
    throw new ConflictError(
      `Model '${input.modelName}' version ${input.version} is ${modelVersion.status} in the MLflow Model Registry, not READY. Import it once its registration has finished.`,
    );
  }
  const root = await registry.downloadPath(input.modelName, input.version);
  const files = await registry.listFiles(root, MAX_FILES);
  if (!files.some((f) => f.path === "MLmodel")) {
    throw new ValidationFailedError(
      `Model '${input.modelName}' version ${input.version} has no MLmodel file at its artifact root (${root}): it is not an MLflow model, so it cannot be imported.`,
    );
  }
  const total = files.reduce((sum, f) => sum + f.sizeBytes, 0);
  if (total > MAX_TOTAL_BYTES) {
    throw new ValidationFailedError(
      `Model '${input.modelName}' version ${input.version} holds ${total} bytes, more than the ${MAX_TOTAL_BYTES} an import may copy.`,
    );
  }

  const experiment = await createExperimentRecord(
    projectId,
    {
      name: `${input.modelName} v${input.version}`.slice(0, 200),
      description: `Imported from the MLflow Model Registry at ${trackingUri}.`,
      metadata: {
        source_model_name: { string_value: input.modelName },
        source_model_version: { string_value: input.version },
        source_tracking_uri: { string_value: trackingUri },
        ...(modelVersion.runId ? { source_run_id: { string_value: modelVersion.runId } } : {}),
      },
    },
    caller.principal,
  );
  const ref = { projectId, experimentId: experiment.experimentId, artifactId: newId("art") };
  const fileName = `${input.modelName.replace(/[^A-Za-z0-9._-]+/g, "_")}-v${input.version}.zip`;
  const artifact = await createInternalArtifact(
    ref,
    { type: "python/mlflow", fileName, sizeBytes: total },
    `mlflow:${trackingUri}#${input.modelName}/${input.version}`,
    caller.principal,
  );

  const writer = new StreamingObjectWriter(
    artifactObjectKey(ref.projectId, ref.experimentId, ref.artifactId),
  );
  const hash = createHash("sha256");
  let size = 0;
  try {
    const zip = new ZipStreamWriter(async (chunk) => {
      hash.update(chunk);
      size += chunk.length;
      await writer.write(chunk);
    });
    for (const file of files)
      await zip.addFile(file.path, await registry.download(root, file.path, file.sizeBytes), file.sizeBytes);
    await zip.finish();
    // Recorded before the object exists, so ingestion checks the zip against what was written.
    await setUploadedObject(ref, size, hash.digest("hex"), nowIso());
    await writer.close();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    const reason =
      error instanceof DomainError ? error.message : `the transfer failed (${(error as Error).message})`;
    await failUpload(
      ref,
      `Import from ${trackingUri} broke off: ${reason} Import the model version again.`,
      nowIso(),
    );
    logger.warn("MLflow import failed during transfer", { ...ref, error: (error as Error).message });
    throw new UpstreamError(
      `Importing model '${input.modelName}' version ${input.version} from ${trackingUri} broke off: ${reason} Experiment '${ref.experimentId}' keeps a FAILED artifact; import the version again.`,
    );
  }
  return {
    experiment,
    artifact: artifactView({ ...artifact, sizeBytes: size }),
  };
}

/** http(s) only, no credentials in the URI; where it may connect is pinHost's to say. */
function checkTrackingUri(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationFailedError(
      `trackingUri '${raw}' is not a URL. Give the tracking server's base URL, e.g. http://mlflow.internal:5000.`,
      [{ path: "body.trackingUri", message: "not a URL" }],
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ValidationFailedError(
      `trackingUri must be an http:// or https:// URL of an MLflow tracking server; '${url.protocol}' is not supported (databricks:, file: and local paths cannot be reached by Byom).`,
      [{ path: "body.trackingUri", message: "only http and https" }],
    );
  }
  if (url.username || url.password) {
    throw new ValidationFailedError(
      "trackingUri must not carry credentials; Byom imports from servers that allow anonymous reads.",
      [{ path: "body.trackingUri", message: "credentials in the URI" }],
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
