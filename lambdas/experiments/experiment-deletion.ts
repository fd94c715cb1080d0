import { startJob } from "#lambdas/jobs/jobs.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ExperimentNotFoundError, ExperimentRegisteredError, findExperiment } from "./experiments.ts";
import { deleteExperiment as deleteExperimentItem } from "./experiments-repository.ts";

/**
 * Deletes an unregistered experiment: the experiment item at once (so nothing new can be added to
 * it), then, in a job, its artifacts' objects, unfinished uploads and records in batches.
 * The job's runner is experiment-deletion-job.ts: only the job worker loads the S3 SDK and may
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
