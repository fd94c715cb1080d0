import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { BUCKET_NAME } from "#lambdas/artifacts/artifact-objects.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { ARTIFACTS_PREFIX, DROP_PREFIX, parseArtifactObjectKey } from "#lambdas/shared/object-keys.ts";
import { eachMessage } from "#lambdas/shared/sqs-batch.ts";
import { ingestArtifactObject, ingestDeadline } from "../ingest-artifact.ts";
import { ingestDropObject } from "../ingest-drop.ts";
import { objectEventsOf } from "../s3-events.ts";

/**
 * The ingest Lambda: SQS batches of S3 ObjectCreated notifications. Each message is handled on its
 * own; a failing one is reported as a partial batch failure (retried, then dead-lettered) and never
 * fails the others.
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  // Batches are of one message (cdk/constructs/ingest-pipeline.ts), so it has the whole invocation.
  const deadline = context ? ingestDeadline(context.getRemainingTimeInMillis()) : Number.POSITIVE_INFINITY;
  return eachMessage(event, "ingest", (record) => handleMessage(record, deadline));
}

async function handleMessage(record: SQSRecord, deadline: number): Promise<void> {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? "1");
  for (const object of objectEventsOf(record.body)) {
    if (object.bucket !== BUCKET_NAME) {
      logger.warn("event for another bucket: ignored", { bucket: object.bucket });
      continue;
    }
    if (object.key.startsWith(ARTIFACTS_PREFIX)) {
      const ref = parseArtifactObjectKey(object.key);
      if (ref) await ingestArtifactObject(ref, object, receiveCount, deadline);
      else logger.warn("object under artifacts/ with an unknown key layout: ignored", { key: object.key });
    } else if (object.key.startsWith(DROP_PREFIX)) {
      await ingestDropObject(object, record.messageId);
    }
  }
}
