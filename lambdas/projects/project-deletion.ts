import { type JobView, startJob } from "#lambdas/jobs/jobs.ts";
import { getJob } from "#lambdas/jobs/jobs-repository.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";
import { newId } from "#lambdas/shared/ids.ts";
import { authorize } from "./access.ts";
import { getProject, markProjectDeleting, projectHas } from "./projects-repository.ts";

/**
 * Deletes a project without deployments, as a job: the request marks the project deleting (from
 * then on every write to it is refused) and queues the job; the job removes the artifacts (objects,
 * unfinished uploads, records) in batches, then every other item, the project item last. Asking
 * again while it runs answers the same job. The job's runner is project-deletion-job.ts: only the
 * job worker loads the S3 SDK and may delete objects (cdk/module-graph.ts grants by imports).
 */
export async function deleteProject(
  caller: Caller,
  projectId: string,
): Promise<Pick<JobView, "jobId" | "projectId" | "status">> {
  await authorize(caller, projectId, "owner", { evenWhileDeleting: true });
  if (await projectHas(projectId, "DEPLOYMENT#")) {
    throw new ConflictError(
      `Project '${projectId}' still has deployments. Delete them first (DELETE /v1/projects/${projectId}/deployments/{deploymentId}).`,
    );
  }
  let jobId = newId("job");
  if (!(await markProjectDeleting(projectId, jobId))) {
    // Asked again: the same job while it runs; a new one (resuming where it stopped) once it
    // FAILED; that job itself when the first request died before queueing it.
    const running = (await getProject(projectId))?.deletingJob;
    const existing = running ? await getJob(running) : undefined;
    if (existing && existing.status !== "FAILED") return existing;
    if (existing) {
      if (!(await markProjectDeleting(projectId, jobId, existing.jobId))) {
        throw new ConflictError(
          `Project '${projectId}' is being deleted by another request right now; retry.`,
        );
      }
    } else if (running) jobId = running;
  }
  return startJob(caller, projectId, "delete-project", {}, "deleting the artifacts", jobId);
}
