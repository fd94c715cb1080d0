import type { Caller } from "#lambdas/shared/caller.ts";
import type { HttpResult } from "#lambdas/shared/http/respond.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import { enqueueJob } from "./job-queue.ts";
import { type JobView, jobPath, jobView } from "./job-status.ts";
import { type JobKind, type JobRecord, putNewJob } from "./jobs-repository.ts";

export type { JobView };

/**
 * Starting jobs: the request records the job and queues it, and answers 202 (job-status.ts shows
 * them; worker.ts runs them). Apart from job-status.ts so that only the handlers that start jobs
 * load the SQS client and may send to the queue (cdk/module-graph.ts).
 */
/** Records and queues a job; the caller has been authorised for what it asks. */
export async function startJob(
  caller: Caller,
  projectId: string,
  kind: JobKind,
  input: Record<string, unknown>,
  message: string,
  jobId = newId("job"),
): Promise<JobView> {
  const now = nowIso();
  const job: JobRecord = {
    jobId,
    projectId,
    kind,
    status: "QUEUED",
    progress: { done: 0, total: null, message },
    result: null,
    error: null,
    input,
    state: null,
    chunks: 0,
    createdBy: caller.principal,
    createdAt: now,
    updatedAt: now,
  };
  await putNewJob(job);
  await enqueueJob(job.jobId);
  return jobView(job);
}

/** 202 Accepted: the job's id in the body, where to follow it in Location. */
export function acceptedJob(job: Pick<JobView, "jobId" | "projectId" | "status">): HttpResult {
  const location = jobPath(job.projectId, job.jobId);
  return { status: 202, body: { jobId: job.jobId, status: job.status, location }, headers: { location } };
}
