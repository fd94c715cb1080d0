import { type JobView, startJob } from "#lambdas/jobs/jobs.ts";
import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/worker.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { completeMultipartUpload, headObject } from "./artifact-store.ts";
import { artifactView, checkPartList, findArtifact, requireUnregisteredExperiment } from "./artifacts.ts";
import type { ArtifactRef } from "./artifacts-repository.ts";

/**
 * Finishes a multipart upload, as a job: S3 may take minutes to assemble a large object, longer
 * than API Gateway waits. The part list must name every part 1..N of the plan exactly once, each
 * with the ETag its PUT returned; that is checked here (400 at once), S3 checks the ETags in the
 * job (runUploadCompletion below).
 */
export async function completeArtifactUpload(
  caller: Caller,
  ref: ArtifactRef,
  parts: ReadonlyArray<{ partNumber: number; etag: string }>,
): Promise<JobView> {
  await authorize(caller, ref.projectId, "editor");
  const artifact = await findArtifact(ref);
  const plan = artifact.upload;
  if (plan.kind !== "multipart") {
    throw new ConflictError(
      `Artifact '${ref.artifactId}' was created for a single presigned PUT; there is no multipart upload to complete. Its status shows when the upload arrived.`,
    );
  }
  if (artifact.status !== "UPLOADING") {
    throw new ConflictError(
      `Artifact '${ref.artifactId}' is ${artifact.status}: its upload was completed already.`,
      [{ message: "already completed", status: artifact.status }],
    );
  }
  checkPartList(parts, plan.partCount);
  await requireUnregisteredExperiment(ref.projectId, ref.experimentId);
  const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
  return startJob(
    caller,
    ref.projectId,
    "complete-upload",
    { ...ref, parts: sorted },
    `assembling ${sorted.length} part(s)`,
  );
}

/**
 * The job that completes a multipart upload (POST …/complete answers 202 with it). Its result is
 * the artifact; ingestion follows once S3 reports the object.
 */
export async function runUploadCompletion({ job }: JobChunk): Promise<ChunkOutcome> {
  const { projectId, experimentId, artifactId } = job.input as unknown as ArtifactRef;
  const parts = job.input.parts as Array<{ partNumber: number; etag: string }>;
  const ref = { projectId, experimentId, artifactId };
  const artifact = await findArtifact(ref);
  const progress = { done: parts.length, total: parts.length, message: `${parts.length} part(s) assembled` };
  const plan = artifact.upload;
  if (artifact.status !== "UPLOADING" || plan.kind !== "multipart") {
    // Completed by an earlier delivery of this job.
    return { done: true, result: artifactView(artifact), progress };
  }
  const outcome = await completeMultipartUpload(artifact.objectKey, plan.uploadId, parts).catch(
    async (error: unknown) => {
      // The answer was lost (a dropped connection while S3 assembled a large object): if the
      // object is there, the upload completed.
      const head = await headObject(artifact.objectKey);
      if (head?.size === artifact.sizeBytes) return { kind: "completed" as const, etag: head.etag };
      throw error;
    },
  );
  if (outcome.kind === "invalid-parts") {
    throw new ValidationFailedError(
      `S3 refused the part list (${outcome.reason}). Upload every part to its URL and pass the ETag header each PUT returned, unchanged.`,
      [{ path: "body.parts", message: outcome.reason }],
    );
  }
  if (outcome.kind === "no-such-upload" && !(await headObject(artifact.objectKey))) {
    throw new ConflictError(
      `The multipart upload of artifact '${artifactId}' no longer exists (aborted or expired). Create a new artifact and upload again.`,
    );
  }
  return { done: true, result: artifactView(await findArtifact(ref)), progress };
}
