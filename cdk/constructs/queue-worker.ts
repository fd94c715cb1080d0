import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as lambdaEvents from "aws-cdk-lib/aws-lambda-event-sources";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ByomFunction } from "./byom-function.ts";

export interface QueueWorkerProps {
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  /** The worker function's construct id (part of its logical ID: never rename it). */
  readonly workerId: string;
  /** The handler module (repository-relative). */
  readonly entry: string;
  readonly description: string;
  readonly timeoutSeconds: number;
  /** @default 1024 */
  readonly memoryMb?: number;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Concurrent invocations at most. */
  readonly maxConcurrency: number;
  /** The worker's reserved concurrency. @default none */
  readonly reservedConcurrency?: number;
  /** What a message in the dead-letter queue means and what to do about it. */
  readonly deadLetterAlarmDescription: string;
  /**
   * An environment variable naming the dead-letter queue's ARN: the worker then drains that queue
   * too (so what a dead message stood for can be ended with a reason), and the alarm counts the
   * dead letters it receives instead of those waiting. @default the dead letters wait for an operator
   */
  readonly deadLetterArnVariable?: string;
  /** An environment variable naming the queue's URL, for a worker that queues follow-up work. */
  readonly queueUrlVariable?: string;
  /** Permissions beyond the table's, granted before the queue is attached. */
  readonly grant?: (worker: ByomFunction, queue: sqs.Queue) => void;
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * A queue drained by one Lambda, one message per invocation with partial batch failures reported:
 * the queue and its dead-letter queue are encrypted and TLS only, and an alarm is raised while
 * anything waits in the dead-letter queue (or, for a worker that drains it, when it receives one). The job worker and the ingest pipeline are this shape;
 * they extend it, so the resources keep the construct ids (and logical IDs) they always had.
 */
export class QueueWorker extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly worker: ByomFunction;
  /**
   * In alarm while any message waits in the dead-letter queue. No action by default: add one,
   * e.g. an SNS topic, with `addAlarmAction`.
   */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Drained by the worker too: the same rule as the queue's (six times the function timeout).
      ...(props.deadLetterArnVariable
        ? { visibilityTimeout: Duration.seconds(6 * props.timeoutSeconds) }
        : {}),
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, "DeadLetters", {
      alarmDescription: props.deadLetterAlarmDescription,
      metric: props.deadLetterArnVariable
        ? this.deadLetterQueue.metricNumberOfMessagesReceived({ period: Duration.minutes(5) })
        : this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so retries never overlap a run.
      visibilityTimeout: Duration.seconds(6 * props.timeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.worker = new ByomFunction(this, props.workerId, {
      entry: props.entry,
      description: props.description,
      timeoutSeconds: props.timeoutSeconds,
      memoryMb: props.memoryMb ?? 1024,
      tracing: props.tracing ?? false,
      reservedConcurrency: props.reservedConcurrency,
      environment: {
        TABLE_NAME: props.table.tableName,
        BUCKET_NAME: props.bucket.bucketName,
        ...(props.queueUrlVariable ? { [props.queueUrlVariable]: this.queue.queueUrl } : {}),
        ...(props.deadLetterArnVariable
          ? { [props.deadLetterArnVariable]: this.deadLetterQueue.queueArn }
          : {}),
      },
    });
    props.table.grantReadWriteData(this.worker.function);
    props.grant?.(this.worker, this.queue);
    this.worker.function.addEventSource(
      new lambdaEvents.SqsEventSource(this.queue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
    if (props.deadLetterArnVariable)
      this.worker.function.addEventSource(
        new lambdaEvents.SqsEventSource(this.deadLetterQueue, {
          batchSize: 1,
          reportBatchItemFailures: true,
          maxConcurrency: 2,
        }),
      );
  }
}
