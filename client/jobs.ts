import type { ByomClient, ResponseOf } from "./api-client.ts";
import { ClientError } from "./errors.ts";
import type { RouteOf } from "./operations.ts";

export type Job = ResponseOf<RouteOf<"getJob">>;

/**
 * Polls a job (202 + jobId from DELETE project/experiment, multipart completion, MLflow import) until it
 * ends, telling `onProgress` each time its progress changes. Resolves with the SUCCEEDED job;
 * a FAILED one becomes a ClientError with the job's reason.
 */
export async function waitForJob(
  client: ByomClient,
  projectId: string,
  jobId: string,
  options: { timeoutSeconds: number; onProgress?: (job: Job) => void },
): Promise<Job> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let shown = "";
  for (let delay = 200; ; delay = Math.min(2000, delay * 1.5)) {
    const job = await client.call("getJob", { params: { projectId, jobId } });
    const line = `${job.status} ${job.progress.message}`;
    if (line !== shown) {
      shown = line;
      options.onProgress?.(job);
    }
    if (job.status === "SUCCEEDED") return job;
    if (job.status === "FAILED") {
      throw new ClientError(`Job ${jobId} (${job.kind}) failed: ${job.error?.message ?? "no reason given"}`);
    }
    if (Date.now() > deadline) {
      throw new ClientError(
        `Job ${jobId} (${job.kind}) is still ${job.status} after ${options.timeoutSeconds} s (${job.progress.message}). Follow it with 'byom jobs wait ${jobId} --project ${projectId}'.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
