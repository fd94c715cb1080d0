import { removeArtifactBatch } from "#lambdas/artifacts/artifact-cleanup.ts";
import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/job-runner.ts";

/** The job that removes a deleted experiment's artifacts in batches (experiment-deletion.ts starts it). */
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
