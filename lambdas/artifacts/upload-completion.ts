import { type JobView, startJob } from "#lambdas/jobs/jobs.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";
import { checkPartList, findArtifact, requireUnregisteredExperiment } from "./artifact-lookup.ts";
import type { ArtifactRef } from "./artifacts-repository.ts";

/**
 * Finishes a multipart upload, as a job: S3 may take minutes to assemble a large object, longer
 * than API Gateway waits. The part list must name every part 1..N of the plan exactly once, each
 * with the ETag its PUT returned; that is checked here (400 at once), S3 checks the ETags in the
 * job (upload-completion-job.ts, which alone of the two loads the S3 client: cdk/module-graph.ts).
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
