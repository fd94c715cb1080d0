import { removeArtifactBatch } from "#lambdas/artifacts/artifact-cleanup.ts";
import type { ChunkOutcome, JobChunk } from "#lambdas/jobs/job-runner.ts";
import { deleteProjectItem, deleteProjectItemsBatch } from "./projects-repository.ts";

/**
 * The job that deletes a project (DELETE /v1/projects/{p} starts it: project-deletion.ts): the
 * artifacts (objects, unfinished uploads, records) in batches, then every other item, the project
 * item last, resuming from its state in the next chunk when time runs short.
 */
export async function runProjectDeletion({ job, hasTime }: JobChunk): Promise<ChunkOutcome> {
  const projectId = job.projectId;
  let artifacts = (job.state?.artifacts as number | undefined) ?? 0;
  let items = (job.state?.items as number | undefined) ?? 0;
  let phase = (job.state?.phase as string | undefined) ?? "artifacts";
  const progress = () => ({
    done: artifacts + items,
    total: null,
    message: `${artifacts} artifact(s) and ${items} other item(s) removed`,
  });
  do {
    if (phase === "artifacts") {
      const count = await removeArtifactBatch(projectId);
      if (count === 0) phase = "items";
      artifacts += count;
    } else {
      const count = await deleteProjectItemsBatch(projectId);
      if (count === 0) {
        await deleteProjectItem(projectId);
        return {
          done: true,
          result: { projectId, artifactsRemoved: artifacts, itemsRemoved: items },
          progress: progress(),
        };
      }
      items += count;
    }
  } while (hasTime());
  return { done: false, state: { phase, artifacts, items }, progress: progress() };
}
