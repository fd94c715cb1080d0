import { removeArtifactBatch } from "#lambdas/artifacts/artifact-cleanup.ts";
import { startJob } from "#lambdas/jobs/jobs.ts";
import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/worker.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ExperimentNotFoundError, ExperimentRegisteredError, findExperiment } from "./experiments.ts";
import { deleteExperiment as deleteExperimentItem } from "./experiments-repository.ts";

/**
 * Deletes an unregistered experiment: the experiment item at once (so nothing new can be added to
 * it), then, in a job, its artifacts' objects, unfinished uploads and records in batches.
 * A file of its own, so that only the delete handler and the job worker load the S3 SDK and may
 * delete objects (the CDK app grants by imports: cdk/module-graph.ts).
 */
export async function deleteExperiment(caller: Caller, projectId: string, experimentId: string) {
  await authorize(caller, projectId, "editor");
  const outcome = await deleteExperimentItem(projectId, experimentId);
  if (outcome === "missing") throw new ExperimentNotFoundError(projectId, experimentId);
  if (outcome === "registered") {
    const claim = (await findExperiment(projectId, experimentId)).registeredAs;
    throw new ExperimentRegisteredError(
      experimentId,
      claim?.modelId ?? "unknown",
      claim?.version,
      "A registered experiment cannot be deleted.",
    );
  }
  return startJob(caller, projectId, "delete-experiment", { experimentId }, "deleting the artifacts");
}

export async function runExperimentDeletion({ job, hasTime }: JobChunk): Promise<ChunkOutcome> {
  const experimentId = job.input.experimentId as string;
  let removed = (job.state?.removed as number | undefined) ?? 0;
  const progress = () => ({ done: removed, total: null, message: `${removed} artifact(s) removed` });
  do {
    const count = await removeArtifactBatch(job.projectId, experimentId);
    if (count === 0)
      return { done: true, result: { experimentId, artifactsRemoved: removed }, progress: progress() };
    removed += count;
  } while (hasTime());
  return { done: false, state: { removed }, progress: progress() };
}
