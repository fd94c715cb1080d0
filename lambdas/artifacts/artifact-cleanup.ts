import { logger } from "#lambdas/shared/logger.ts";
import { abortMultipartUpload, deleteObject } from "./artifact-store.ts";
import { listArtifacts, listProjectArtifacts } from "./artifacts-repository.ts";

/** What a deleted experiment leaves in the bucket: each artifact's object, or its unfinished upload. */
export interface ArtifactBytes {
  readonly objectKey: string;
  readonly uploadId: string | undefined;
}

/**
 * The bytes of an experiment's artifacts (or, without an experiment, of all the project's), read
 * before their items are deleted.
 */
export async function artifactBytesOf(projectId: string, experimentId?: string): Promise<ArtifactBytes[]> {
  const found: ArtifactBytes[] = [];
  let cursor: string | undefined;
  do {
    const request = { limit: 100, cursor };
    const page = experimentId
      ? await listArtifacts(projectId, experimentId, request)
      : await listProjectArtifacts(projectId, request);
    for (const record of page.items) {
      const plan = record.upload;
      found.push({
        objectKey: record.objectKey,
        uploadId: plan.kind === "multipart" && record.status === "UPLOADING" ? plan.uploadId : undefined,
      });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return found;
}

/**
 * Removes the bytes of a deleted experiment's (or project's) artifacts: objects deleted, unfinished multipart
 * uploads aborted (S3 keeps their parts, and bills them, until then). Best effort: the experiment
 * is already gone, so a failure is logged (the bucket's 7-day abort rule still ends stray uploads).
 */
export async function removeArtifactBytes(bytes: readonly ArtifactBytes[]): Promise<void> {
  for (const { objectKey, uploadId } of bytes) {
    try {
      if (uploadId) await abortMultipartUpload(objectKey, uploadId);
      await deleteObject(objectKey);
    } catch (error) {
      logger.error("could not remove a deleted experiment's artifact bytes", {
        objectKey,
        error: String(error),
      });
    }
  }
}
