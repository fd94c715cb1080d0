import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambdaEvents from "aws-cdk-lib/aws-lambda-event-sources";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ARTIFACTS_PREFIX } from "#lambdas/shared/object-keys.ts";
import { JOB_HANDLER, MAX_RECEIVE_COUNT } from "#local/ingest-queue.ts";
import { ByomFunction } from "./byom-function.ts";

/** A chunk of a job runs for at most this long; the worker yields a minute before (lambdas/jobs/worker.ts). */
export const JOB_TIMEOUT_SECONDS = 15 * 60;

export interface JobWorkerProps {
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  /** Concurrent job chunks at most. @default 5 */
  readonly maxConcurrency?: number;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * Long work off the request path (docs/ingestion.md, "Jobs"): API handlers record a job and send
 * `{"jobId"}` to this queue (encrypted, TLS only, dead-letter queue after MAX_RECEIVE_COUNT
 * receives); the worker runs one chunk per message within its time budget and queues the next.
 */
export class JobWorker extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly worker: ByomFunction;
  /** In alarm while any job message waits in the dead-letter queue. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: JobWorkerProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, "DeadLetters", {
      alarmDescription:
        "Byom jobs: messages in the dead-letter queue. Their jobs were ended FAILED on the last attempt; see the job worker's logs.",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * JOB_TIMEOUT_SECONDS),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.worker = new ByomFunction(this, "Worker", {
      entry: JOB_HANDLER,
      description: "Byom jobs: project and experiment deletion, multipart completion",
      timeoutSeconds: JOB_TIMEOUT_SECONDS,
      memoryMb: 1024,
      tracing: props.tracing ?? false,
      environment: {
        TABLE_NAME: props.table.tableName,
        BUCKET_NAME: props.bucket.bucketName,
        JOBS_QUEUE_URL: this.queue.queueUrl,
      },
    });
    props.table.grantReadWriteData(this.worker.function);
    this.queue.grantSendMessages(this.worker.function);
    this.worker.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Completes multipart uploads (PutObject), deletes artifacts' objects and unfinished uploads.
        actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
      }),
    );
    this.worker.function.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 5,
      }),
    );
  }

  /** Lets a function start jobs: the queue's URL in its environment and permission to send to it. */
  public allowStarting(fn: ByomFunction): void {
    fn.function.addEnvironment("JOBS_QUEUE_URL", this.queue.queueUrl);
    this.queue.grantSendMessages(fn.function);
  }
}
