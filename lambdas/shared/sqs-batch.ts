import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "./logger.ts";

/**
 * Handles each message of an SQS batch on its own: one that throws is logged and reported as a
 * partial batch failure (SQS retries it, then dead-letters it) and never fails the others.
 * `what` names the queue's messages in the log ("ingest", "job").
 */
export async function eachMessage(
  event: SQSEvent,
  what: string,
  handle: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    try {
      await handle(record);
    } catch (error) {
      logger.error(`${what} message failed; it will be retried`, {
        messageId: record.messageId,
        error: error instanceof Error ? error : String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
