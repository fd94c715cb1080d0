import { createHash, randomUUID } from "node:crypto";
import { headObject, type ObjectHead, readRange } from "#lambdas/artifacts/artifact-objects.ts";
import {
  type ArtifactRecord,
  type ArtifactRef,
  claimForIngestion,
  finishIngestion,
  getArtifact,
  type IngestionOutcome,
  releaseIngestionClaim,
} from "#lambdas/artifacts/artifacts-repository.ts";
import { applyMetadataPatch, ExperimentFrozenError } from "#lambdas/experiments/experiments.ts";
import { getExperiment } from "#lambdas/experiments/experiments-repository.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { DomainError } from "#lambdas/shared/errors.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { locateMlmodel, MLMODEL_MAX_BYTES, readMlmodel } from "./mlmodel.ts";
import { locateModelIni, readMojo } from "./mojo.ts";
import { ArtifactRejectedError } from "./rejection.ts";
import type { ObjectEvent } from "./s3-events.ts";
import { type RangeReader, readCentralDirectory, readEntry, type ZipLimits } from "./zip-directory.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const num = (name: string, fallback: number) => Number(optionalEnv(name, String(fallback)));

/** Zip limits (docs/ingestion.md); the MLflow processor applies its own when it extracts. */
export const ZIP_LIMITS: ZipLimits = {
  maxEntries: num("BYOM_ZIP_MAX_ENTRIES", 100_000),
  maxTotalUncompressedBytes: num("BYOM_ZIP_MAX_UNCOMPRESSED_BYTES", 50 * GiB),
  maxCompressionRatio: num("BYOM_ZIP_MAX_RATIO", 200),
  ratioFloorBytes: num("BYOM_ZIP_RATIO_FLOOR_BYTES", MiB),
  maxCentralDirectoryBytes: 64 * MiB,
};
/** How long a claim holds before another delivery may take over (≥ the ingest Lambda's timeout). */
const CLAIM_SECONDS = num("BYOM_INGEST_CLAIM_SECONDS", 900);
/** As the queue's maxReceiveCount: on the last attempt a transient failure becomes FAILED. */
const MAX_RECEIVES = num("BYOM_INGEST_MAX_RECEIVES", 3);
const HASH_CHUNK_BYTES = num("BYOM_INGEST_HASH_CHUNK_BYTES", 16 * MiB);
/** Time kept back from the Lambda's limit to write the outcome (FAILED with a reason, not a timeout). */
const TIME_MARGIN_MS = num("BYOM_INGEST_TIME_MARGIN_MS", 60_000);

/** When ingestion must stop working on an artifact: the invocation's end less the margin. */
export const ingestDeadline = (remainingMs: number) => Date.now() + remainingMs - TIME_MARGIN_MS;

function checkTime(deadline: number, done: string): void {
  if (Date.now() < deadline) return;
  throw new ArtifactRejectedError(
    `Ingestion stopped before the ingest function's time limit (${done}): the file is too large to verify in one invocation. Upload a smaller artifact (or one with sha256 declared at creation, which S3 verifies itself); if this is a small file, report it with this artifact id.`,
  );
}

/**
 * Ingests the object of one artifact after S3 reported it. Safe under duplicate, late and
 * concurrent deliveries: stale events (the object changed since) are ignored, READY and FAILED are
 * final, and only the delivery holding the INGESTING claim writes the outcome.
 */
export async function ingestArtifactObject(
  ref: ArtifactRef,
  event: ObjectEvent,
  receiveCount: number,
  deadline = Number.POSITIVE_INFINITY,
) {
  const artifact = await getArtifact(ref);
  if (!artifact) {
    logger.warn("object without an artifact record: ignored", { key: event.key });
    return;
  }
  if (artifact.status === "READY" || artifact.status === "FAILED") {
    logger.info("artifact already ingested: duplicate event ignored", { ...ref, status: artifact.status });
    return;
  }
  const head = await headObject(artifact.objectKey);
  if (!head) {
    logger.warn("artifact object is gone: event ignored", { key: event.key });
    return;
  }
  if (event.etag && event.etag !== head.etag) {
    logger.info("stale event (the object changed since): ignored", {
      key: event.key,
      event: event.etag,
      head: head.etag,
    });
    return;
  }
  const token = randomUUID();
  const now = new Date();
  const claimed = await claimForIngestion(
    ref,
    head,
    token,
    now.toISOString(),
    new Date(now.getTime() + CLAIM_SECONDS * 1000).toISOString(),
  );
  if (!claimed) {
    logger.info("artifact held by another delivery or final: event ignored", { ...ref });
    return;
  }
  let outcome: IngestionOutcome;
  try {
    outcome = await examine(claimed, head, deadline);
  } catch (error) {
    if (!(error instanceof ArtifactRejectedError) && receiveCount < MAX_RECEIVES) {
      await releaseIngestionClaim(ref, token);
      throw error;
    }
    outcome = {
      status: "FAILED",
      sha256: null,
      failureReason:
        error instanceof ArtifactRejectedError
          ? error.message
          : `Ingestion failed ${receiveCount} times (${(error as Error).message}). Upload the file again as a new artifact; if it fails again, report it with this artifact id.`,
    };
  }
  if (!(await finishIngestion(ref, token, outcome, new Date().toISOString()))) {
    logger.warn("ingestion claim lost before finishing: outcome dropped", { ...ref });
    return;
  }
  logger.info("artifact ingested", { ...ref, status: outcome.status });
}

/** Checks size and checksum, reads the model description, writes metadata. Throws to reject. */
async function examine(
  artifact: ArtifactRecord,
  head: ObjectHead,
  deadline: number,
): Promise<IngestionOutcome> {
  checkTime(deadline, "before reading the object");
  if (head.size !== artifact.sizeBytes) {
    throw new ArtifactRejectedError(
      `The uploaded object is ${head.size} bytes but the artifact was declared as ${artifact.sizeBytes} bytes: the upload is incomplete or the wrong file. Create a new artifact with the file's exact size and upload it again.`,
    );
  }
  const read: RangeReader = (start, end) => readRange(artifact.objectKey, head.etag, start, end);
  const sha256 = head.sha256 ?? (await sha256Of(read, head.size, deadline));
  if (artifact.declaredSha256 && artifact.declaredSha256 !== sha256) {
    throw new ArtifactRejectedError(
      `Checksum mismatch: the uploaded bytes have SHA-256 ${sha256}, but ${artifact.declaredSha256} was declared. The file was corrupted in transit or is not the one declared; create a new artifact and upload again.`,
    );
  }
  const ref = { projectId: artifact.projectId, experimentId: artifact.experimentId };
  // Read after the INGESTING claim, while a registration lists artifacts after claiming the
  // experiment: one of the two sees the other, so a version never gains bytes after the fact.
  const claim = (await getExperiment(ref.projectId, ref.experimentId))?.registeredAs;
  if (claim) {
    throw new ArtifactRejectedError(
      new ExperimentFrozenError(ref.projectId, ref.experimentId, "its model artifacts", claim).message,
    );
  }
  if (artifact.type === "python/mlflow") {
    checkTime(deadline, "after verifying the checksum, before reading the zip");
    const entries = await readCentralDirectory(read, head.size, ZIP_LIMITS);
    const mlmodel = locateMlmodel(entries);
    const text = (await readEntry(read, mlmodel, MLMODEL_MAX_BYTES)).toString("utf8");
    const reading = readMlmodel(text, mlmodel.name);
    const { description } = reading;
    await writeMetadata(ref, {
      ...(reading.inputSchema ? { input_schema: { json_value: reading.inputSchema } } : {}),
      ...(reading.outputSchema ? { output_schema: { json_value: reading.outputSchema } } : {}),
      framework: { string_value: description.framework },
      mlflow_flavors: { json_value: description.flavors },
      ...(description.pythonVersion ? { python_version: { string_value: description.pythonVersion } } : {}),
      ...(description.loaderModule ? { loader_module: { string_value: description.loaderModule } } : {}),
    });
    return { status: "READY", sha256, model: description, notices: reading.notices };
  }
  if (artifact.type === "h2o3/mojo") {
    const entries = await readCentralDirectory(read, head.size, ZIP_LIMITS);
    const reading = await readMojo(read, entries, locateModelIni(entries));
    await writeMetadata(ref, {
      ...reading.metadata,
      ...(reading.inputSchema ? { input_schema: { json_value: reading.inputSchema } } : {}),
      ...(reading.outputSchema ? { output_schema: { json_value: reading.outputSchema } } : {}),
    });
    return { status: "READY", sha256, model: null, notices: reading.notices };
  }
  const notices: string[] = [];
  if (artifact.framework) await writeMetadata(ref, { framework: { string_value: artifact.framework } });
  if (artifact.type === "dai/mojo_pipeline") {
    notices.push(
      "A Driverless AI MOJO pipeline is stored but cannot be deployed by Byom: it needs H2O's licensed MOJO2 runtime (and a Driverless AI license file), which Byom does not ship. Serve it with H2O's own scorer, or register a runtime image of your own that holds that runtime and your license (POST /v1/catalog/runtimes).",
    );
  }
  if (artifact.type === "python/pickle") {
    notices.push(
      "A python/pickle artifact carries no schema and is never unpickled by Byom: set input_schema and output_schema with PATCH on the experiment before deploying it.",
    );
  }
  return { status: "READY", sha256, model: null, notices };
}

async function writeMetadata(
  ref: { projectId: string; experimentId: string },
  patch: Record<string, unknown>,
) {
  try {
    await applyMetadataPatch(ref.projectId, ref.experimentId, patch);
  } catch (error) {
    if (error instanceof DomainError) {
      throw new ArtifactRejectedError(`The experiment's metadata could not be written: ${error.message}`);
    }
    throw error;
  }
}

/** SHA-256 of the whole object, streamed through explicit ranged reads (one read ahead). */
async function sha256Of(read: RangeReader, size: number, deadline: number): Promise<string> {
  const hash = createHash("sha256");
  const chunk = (start: number) => {
    const bytes = read(start, Math.min(size, start + HASH_CHUNK_BYTES) - 1);
    // Awaited on the next turn; a failure before then must not count as unhandled.
    bytes.catch(() => undefined);
    return bytes;
  };
  let next = size > 0 ? chunk(0) : undefined;
  for (let start = 0; next; start += HASH_CHUNK_BYTES) {
    const bytes = await next;
    checkTime(deadline, `after hashing ${start} of ${size} bytes`);
    next = start + HASH_CHUNK_BYTES < size ? chunk(start + HASH_CHUNK_BYTES) : undefined;
    hash.update(bytes);
  }
  return hash.digest("hex");
}
