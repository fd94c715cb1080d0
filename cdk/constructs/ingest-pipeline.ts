import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambdaEvents from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ARTIFACTS_PREFIX, DROP_PREFIX, INGEST_PREFIXES } from "#lambdas/shared/object-keys.ts";
import { ByomFunction } from "./byom-function.ts";

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
export class IngestPipeline extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly ingest: ByomFunction;
  /**
   * In alarm while any message waits in the dead-letter queue (an upload or drop that failed to
   * ingest three times). No action by default: add one, e.g. an SNS topic, with `addAlarmAction`.
   */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, "DeadLetters", {
      alarmDescription:
        "Byom ingest: messages in the dead-letter queue. Each is an S3 event that failed to ingest three times; see the ingest function's logs, fix the cause, then redrive the queue.",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so retries never overlap a run.
      visibilityTimeout: Duration.seconds(6 * INGEST_TIMEOUT_SECONDS),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: INGEST_MAX_RECEIVE_COUNT },
    });
    for (const prefix of INGEST_PREFIXES) {
      props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
        prefix,
      });
    }

    this.ingest = new ByomFunction(this, "Ingest", {
      entry: props.handler ?? INGEST_HANDLER,
      description: "Byom ingest: verifies uploaded artifacts, reads MLmodel, ingests the drop folder",
      timeoutSeconds: INGEST_TIMEOUT_SECONDS,
      memoryMb: props.memoryMb ?? 1024,
      tracing: props.tracing ?? false,
      environment: {
        TABLE_NAME: props.table.tableName,
        BUCKET_NAME: props.bucket.bucketName,
      },
    });
    props.table.grantReadWriteData(this.ingest.function);
    // Reads (ranged) what was uploaded or dropped; a dropped zip becomes an artifact under artifacts/.
    this.ingest.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
        resources: [
          props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`),
          props.bucket.arnForObjects(`${DROP_PREFIX}*`),
        ],
      }),
    );
    this.ingest.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Copies above 5 GiB are multipart: a failed one is aborted.
        actions: ["s3:PutObject", "s3:AbortMultipartUpload"],
        resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
      }),
    );
    this.ingest.function.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 10,
      }),
    );
  }
}
