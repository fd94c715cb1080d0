import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/job-runner.ts";
import { ConflictError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { completeMultipartUpload, headObject } from "./artifact-objects.ts";
import { artifactView, findArtifact } from "./artifacts.ts";
import type { ArtifactRef } from "./artifacts-repository.ts";

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
