import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { NotFoundError } from "#lambdas/shared/errors.ts";
import { getJob, type JobRecord } from "./jobs-repository.ts";

/**
 * Long work runs as a job, off the request path (API Gateway stops waiting at 29 s): the request
 * records the job and queues it, answers 202 with its id and where to poll; the job worker does the
 * work in chunks that each fit one invocation (docs/ingestion.md, "Jobs"). The API shows a job's
 * record without the runner's own input, continuation state and chunk count.
 */
export type JobView = Omit<JobRecord, "input" | "state" | "chunks">;

export class JobNotFoundError extends NotFoundError {
  constructor(jobId: string) {
    super("Job", jobId);
  }
}

export const jobPath = (projectId: string, jobId: string) => `/v1/projects/${projectId}/jobs/${jobId}`;

/**
 * A project member sees the project's jobs; the one who started a job also sees it after the job
 * deleted the project (and with it the membership).
 */
export async function showJob(caller: Caller, projectId: string, jobId: string): Promise<JobView> {
  const job = await getJob(jobId);
  if (!job || job.projectId !== projectId) {
    await authorize(caller, projectId, "viewer", { evenWhileDeleting: true });
    throw new JobNotFoundError(jobId);
  }
  // Members follow a project's deletion through its job while everything else of it reads as gone.
  if (job.createdBy !== caller.principal)
    await authorize(caller, projectId, "viewer", { evenWhileDeleting: true });
  return jobView(job);
}

export function jobView(job: JobRecord): JobView {
  const { input: _input, state: _state, chunks: _chunks, ...view } = job;
  return view;
}
