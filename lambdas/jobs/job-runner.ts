import type { JobProgress, JobRecord } from "./jobs-repository.ts";

/*
 * What a job kind's runner is given and gives back (lambdas/jobs/worker.ts runs them). Types of
 * their own, so that a domain's runner and its request side can name them without importing the
 * worker, which reaches every runner (and with them the S3 client: cdk/module-graph.ts).
 */

/** One invocation's share of a job's work. */
export interface JobChunk {
  readonly job: JobRecord;
  /** False once the rest of this invocation is needed to record the outcome: stop and yield. */
  hasTime(): boolean;
  progress(progress: JobProgress): Promise<void>;
}

export type ChunkOutcome =
  | { readonly done: true; readonly result: unknown; readonly progress: JobProgress }
  | { readonly done: false; readonly state: Record<string, unknown>; readonly progress: JobProgress };

export type JobRunner = (chunk: JobChunk) => Promise<ChunkOutcome>;

/** What a kind does once its job ended FAILED (the job's own record already says why). */
export type JobFailureHandler = (
  job: JobRecord,
  error: { readonly code: string; readonly message: string },
) => Promise<void>;
