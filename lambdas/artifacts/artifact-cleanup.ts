import { logger } from "#lambdas/shared/logger.ts";
import { abortMultipartUpload, deleteObjects } from "./artifact-objects.ts";
import {
  type ArtifactRecord,
  deleteArtifactRecords,
  listArtifacts,
  listProjectArtifacts,
} from "./artifacts-repository.ts";

/** Artifacts removed per batch: one page of records, one DeleteObjects request. */
export const CLEANUP_BATCH = 100;

/**
 * Removes the next batch of an experiment's (or, without one, a whole project's) artifacts: their
 * objects deleted, unfinished multipart uploads aborted (S3 keeps their parts, and bills them,
 * until then), then their records. Records go last, so a batch interrupted anywhere is found
 * again by the next one. Returns how many artifacts it removed: 0 when none are left.
 */
export async function removeArtifactBatch(projectId: string, experimentId?: string): Promise<number> {
  const request = { limit: CLEANUP_BATCH };
  const page = experimentId
    ? await listArtifacts(projectId, experimentId, request)
    : await listProjectArtifacts(projectId, request);
  if (page.items.length === 0) return 0;
  await Promise.all(page.items.filter(uploadInProgress).map((a) => abortUpload(a)));
  await deleteObjects(page.items.map((a) => a.objectKey));
  await deleteArtifactRecords(page.items);
  return page.items.length;
}

function uploadInProgress(artifact: ArtifactRecord): boolean {
  return artifact.upload.kind === "multipart" && artifact.status === "UPLOADING";
}

/**
 * Best effort: the records are going, and the bucket's 7-day rule aborts stray uploads anyway
 * (s3rver, in local mode, cannot abort at all).
 */
async function abortUpload(artifact: ArtifactRecord): Promise<void> {
  if (artifact.upload.kind !== "multipart") return;
  try {
    await abortMultipartUpload(artifact.objectKey, artifact.upload.uploadId);
  } catch (error) {
    logger.warn("could not abort a deleted artifact's multipart upload", {
      objectKey: artifact.objectKey,
      error: String(error),
    });
  }
}
