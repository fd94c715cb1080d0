import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { logger } from "#lambdas/shared/logger.ts";
import { eachMessage } from "#lambdas/shared/sqs-batch.ts";
import { failDeadLetteredJob, runJobChunk } from "../worker.ts";

/** The job queue's dead-letter queue, which this function also drains (cdk/constructs/job-worker.ts). */
const DEAD_LETTER_QUEUE_ARN = process.env.JOB_DEAD_LETTER_QUEUE_ARN ?? "";

/**
 * The job worker Lambda: SQS messages `{"jobId"}`, one at a time (batch size 1), each one chunk of
 * a job's work within this invocation's time. A failing message is reported as a partial batch
 * failure (retried, then dead-lettered). Messages from the dead-letter queue end their job FAILED.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return eachMessage(event, "job", async (record) => {
    const { jobId } = JSON.parse(record.body) as { jobId?: unknown };
    if (typeof jobId !== "string") {
      logger.warn("job message without a jobId: dropped", { messageId: record.messageId });
      return;
    }
    if (DEAD_LETTER_QUEUE_ARN && record.eventSourceARN === DEAD_LETTER_QUEUE_ARN) {
      await failDeadLetteredJob(jobId);
      return;
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? "1");
    await runJobChunk(jobId, context.getRemainingTimeInMillis(), receiveCount);
  });
}
