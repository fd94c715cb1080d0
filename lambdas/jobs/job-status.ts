import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { NotFoundError } from "#lambdas/shared/errors.ts";
import { getJob, type JobKind, type JobProgress, type JobRecord, type JobStatus } from "./jobs-repository.ts";

/**
 * Long work runs as a job, off the request path (API Gateway stops waiting at 29 s): the request
 * records the job and queues it, answers 202 with its id and where to poll; the job worker does the
 * work in chunks that each fit one invocation (docs/ingestion.md, "Jobs").
 */
export interface JobView {
  readonly jobId: string;
  readonly projectId: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  readonly progress: JobProgress;
  readonly result: unknown;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

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
  return {
    jobId: job.jobId,
    projectId: job.projectId,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    result: job.result,
    error: job.error,
    createdBy: job.createdBy,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}
