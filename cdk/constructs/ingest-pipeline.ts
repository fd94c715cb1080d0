import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import type { Construct } from "constructs";
import { ARTIFACTS_PREFIX, DROP_PREFIX, INGEST_PREFIXES } from "#lambdas/shared/object-keys.ts";
import type { ByomFunction } from "./byom-function.ts";
import { QueueWorker } from "./queue-worker.ts";

/** As in local mode (local/ingest-queue.ts MAX_RECEIVE_COUNT): the fourth receive goes to the DLQ. */
export const INGEST_MAX_RECEIVE_COUNT = 3;
/** Long enough to stream and hash a 5 GB object. */
export const INGEST_TIMEOUT_SECONDS = 15 * 60;
export const INGEST_HANDLER = "lambdas/ingest/handlers/ingest.ts";

export interface IngestPipelineProps {
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  /** The handler module (repository-relative). @default INGEST_HANDLER */
  readonly handler?: string;
  /** @default 1024 */
  readonly memoryMb?: number;
  /** Concurrent ingest invocations at most. @default 10 */
  readonly maxConcurrency?: number;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * S3 ObjectCreated under INGEST_PREFIXES → SQS (encrypted, TLS only, dead-letter queue after
 * INGEST_MAX_RECEIVE_COUNT receives) → the ingest Lambda, one message per invocation (each may be a
 * multi-GB object to hash) with partial batch failures reported.
 */
export class IngestPipeline extends QueueWorker {
  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id, {
      table: props.table,
      bucket: props.bucket,
      workerId: "Ingest",
      entry: props.handler ?? INGEST_HANDLER,
      description: "Byom ingest: verifies uploaded artifacts, reads MLmodel, ingests the drop folder",
      timeoutSeconds: INGEST_TIMEOUT_SECONDS,
      memoryMb: props.memoryMb ?? 1024,
      maxReceiveCount: INGEST_MAX_RECEIVE_COUNT,
      maxConcurrency: props.maxConcurrency ?? 10,
      deadLetterAlarmDescription:
        "Byom ingest: messages in the dead-letter queue. Each is an S3 event that failed to ingest three times; see the ingest function's logs, fix the cause, then redrive the queue.",
      tracing: props.tracing,
      grant: (worker) => {
        // Reads (ranged) what was uploaded or dropped; a dropped zip becomes an artifact under artifacts/.
        worker.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
            resources: [
              props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`),
              props.bucket.arnForObjects(`${DROP_PREFIX}*`),
            ],
          }),
        );
        worker.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            // Copies above 5 GiB are multipart: a failed one is aborted.
            actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
            resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
          }),
        );
      },
    });
    for (const prefix of INGEST_PREFIXES) {
      props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
        prefix,
      });
    }
  }

  /** The ingest function (the worker's name in this pipeline). */
  public get ingest(): ByomFunction {
    return this.worker;
  }
}
