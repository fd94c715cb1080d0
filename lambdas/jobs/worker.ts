import { randomUUID } from "node:crypto";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { DomainError } from "#lambdas/shared/errors.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { enqueueJob } from "./job-queue.ts";
import type { ChunkOutcome, JobFailureHandler, JobRunner } from "./job-runner.ts";
import {
  claimJob,
  finishJob,
  getJob,
  type JobEnd,
  type JobKind,
  type JobRecord,
  recordProgress,
  yieldJob,
} from "./jobs-repository.ts";

export type { ChunkOutcome, JobChunk, JobRunner } from "./job-runner.ts";

/** Each kind's runner lives with its domain; loaded when a job of that kind runs. */
const RUNNERS: Readonly<Record<JobKind, () => Promise<JobRunner>>> = {
  "delete-project": async () =>
    (await import("#lambdas/projects/project-deletion-job.ts")).runProjectDeletion,
  "delete-experiment": async () =>
    (await import("#lambdas/experiments/experiment-deletion-job.ts")).runExperimentDeletion,
  "complete-upload": async () =>
    (await import("#lambdas/artifacts/upload-completion-job.ts")).runUploadCompletion,
  "import-mlflow": async () => (await import("#lambdas/imports/mlflow-import-job.ts")).runMlflowImport,
  "import-image": async () => (await import("#lambdas/catalog/image-import.ts")).runImageImport,
};

/**
 * Kinds whose job leaves something of its own behind that must say it failed (a catalog entry
 * IMPORTING): called once the job has ended FAILED, whichever way it did.
 */
const ON_FAILED: Readonly<Partial<Record<JobKind, () => Promise<JobFailureHandler>>>> = {
  "import-image": async () => (await import("#lambdas/catalog/image-import.ts")).recordImageImportFailure,
};

/** Ends the job FAILED and tells its kind's failure handler (when the lease was still ours). */
async function failJob(job: JobRecord, token: string, end: Extract<JobEnd, { status: "FAILED" }>) {
  if (!(await finishJob(job.jobId, token, end))) return;
  const onFailed = ON_FAILED[job.kind];
  if (onFailed) await (await onFailed())(job, end.error);
}

const num = (name: string, fallback: number) => Number(optionalEnv(name, String(fallback)));
/** Kept back from the invocation's end to record the outcome and queue the next chunk. */
const TIME_MARGIN_MS = num("BYOM_JOB_TIME_MARGIN_MS", 60_000);
/** As the queue's maxReceiveCount: on the last attempt a fault ends the job FAILED. */
export const JOB_MAX_RECEIVES = num("BYOM_JOB_MAX_RECEIVES", 3);
/** A job that needs more invocations than this is stopped (FAILED), not left to run forever. */
const MAX_CHUNKS = num("BYOM_JOB_MAX_CHUNKS", 500);

/**
 * Runs one chunk of a job: claims it (a lease to the invocation's end), runs its kind's runner until
 * the work is done or time runs short, then records the outcome, or the state to resume from and
 * queues the next chunk. A job always ends SUCCEEDED or FAILED with a reason, never stuck: a
 * domain error fails it at once, a fault on the last delivery does, a chunk that makes no progress
 * does, and a worker that died loses its lease to the redelivered message.
 */
export async function runJobChunk(jobId: string, remainingMs: number, receiveCount: number): Promise<void> {
  const started = Date.now();
  const deadline = started + remainingMs - TIME_MARGIN_MS;
  const token = randomUUID();
  const job = await claimJob(
    jobId,
    token,
    new Date(started).toISOString(),
    new Date(started + remainingMs + 30_000).toISOString(),
  );
  if (!job) {
    logger.info("job final or held by another delivery: message ignored", { jobId });
    return;
  }
  logger.appendKeys({ jobId, kind: job.kind });
  let outcome: ChunkOutcome;
  try {
    const runner = await RUNNERS[job.kind]();
    outcome = await runner({
      job,
      hasTime: () => Date.now() < deadline,
      progress: (progress) => recordProgress(jobId, token, progress),
    });
  } catch (error) {
    if (error instanceof DomainError) {
      await failJob(job, token, {
        status: "FAILED",
        error: { code: error.code, message: error.message },
      });
      return;
    }
    if (receiveCount >= JOB_MAX_RECEIVES) {
      logger.error("job failed on its last delivery", { error: error as Error });
      await failJob(job, token, {
        status: "FAILED",
        error: {
          code: "JOB_FAILED",
          message: `The job failed ${receiveCount} times (${(error as Error).message}). Start it again; if it fails again, report it with this job id.`,
        },
      });
      return;
    }
    // Give the job back for the redelivered message, from where this chunk started.
    await yieldJob(jobId, token, job.state ?? {}, job.progress);
    throw error;
  }
  if (outcome.done) {
    await finishJob(jobId, token, {
      status: "SUCCEEDED",
      result: outcome.result,
      progress: outcome.progress,
    });
    return;
  }
  const stalled = JSON.stringify(outcome.state) === JSON.stringify(job.state ?? {});
  if (stalled || job.chunks + 1 >= MAX_CHUNKS) {
    await failJob(job, token, {
      status: "FAILED",
      error: {
        code: "JOB_STALLED",
        message: stalled
          ? `The job made no progress within one invocation of the job worker (${outcome.progress.message}). Report it with this job id.`
          : `The job did not finish within ${MAX_CHUNKS} invocations of the job worker (${outcome.progress.message}). Ask again to resume it.`,
      },
      progress: outcome.progress,
    });
    return;
  }
  if (!(await yieldJob(jobId, token, outcome.state, outcome.progress))) {
    logger.warn("job lease lost before yielding: the holder of the new lease goes on");
    return;
  }
  await enqueueJob(jobId);
}

/**
 * A job message that reached the dead-letter queue: its last delivery ended without the worker
 * recording an outcome (the invocation timed out or ran out of memory; a thrown error on the last
 * delivery already fails the job in runJobChunk). No delivery comes again, so the job ends FAILED
 * here, whatever lease it still holds, and its kind's failure handler runs: never left RUNNING.
 */
export async function failDeadLetteredJob(jobId: string): Promise<void> {
  const job = await getJob(jobId);
  if (!job || job.status === "SUCCEEDED" || job.status === "FAILED") return;
  const error = {
    code: "JOB_FAILED",
    message: `The job worker stopped ${JOB_MAX_RECEIVES} times without recording an outcome (an invocation that timed out or ran out of memory). Start it again; if it fails again, report it with this job id.`,
  };
  if (!(await finishJob(jobId, undefined, { status: "FAILED", error }))) return;
  logger.error("dead-lettered job ended FAILED", { jobId, kind: job.kind });
  const onFailed = ON_FAILED[job.kind];
  if (onFailed) await (await onFailed())(job, error);
}
