import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { ARTIFACTS_PREFIX } from "#lambdas/shared/object-keys.ts";
import { JOB_HANDLER, MAX_RECEIVE_COUNT } from "#local/ingest-queue.ts";
import type { ByomFunction } from "./byom-function.ts";
import { QueueWorker } from "./queue-worker.ts";

/** A chunk of a job runs for at most this long; the worker yields a minute before (lambdas/jobs/worker.ts). */
export const JOB_TIMEOUT_SECONDS = 15 * 60;

export interface JobWorkerProps {
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  /** Concurrent job chunks at most. @default 5, or the reserved concurrency when that is less */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrency (at least 2, as an SQS event source runs 2 at once): the jobs can then
   * neither take more of the account's pool nor be starved of it. Off by default, because a new
   * account's pool is 10 and leaves nothing to reserve. @default none
   */
  readonly reservedConcurrency?: number;
  /** Hosts an MLflow import may reach although they resolve to private addresses (MLFLOW_ALLOWED_HOSTS). @default none */
  readonly mlflowAllowedHosts?: readonly string[];
  /** @default false */
  readonly tracing?: boolean;
}

/**
 * Long work off the request path (docs/ingestion.md, "Jobs"): API handlers record a job and send
 * `{"jobId"}` to this queue (encrypted, TLS only, dead-letter queue after MAX_RECEIVE_COUNT
 * receives); the worker runs one chunk per message within its time budget and queues the next.
 */
export class JobWorker extends QueueWorker {
  constructor(scope: Construct, id: string, props: JobWorkerProps) {
    super(scope, id, {
      table: props.table,
      bucket: props.bucket,
      workerId: "Worker",
      entry: JOB_HANDLER,
      description:
        "Byom jobs: project and experiment deletion, multipart completion, MLflow and image imports",
      timeoutSeconds: JOB_TIMEOUT_SECONDS,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      maxConcurrency: Math.min(
        props.maxConcurrency ?? 5,
        props.reservedConcurrency ?? Number.POSITIVE_INFINITY,
      ),
      reservedConcurrency: props.reservedConcurrency,
      deadLetterAlarmDescription:
        "Byom jobs: a job's worker stopped on every attempt without recording an outcome (timeout or out of memory); the worker received its dead letter and ended the job FAILED. See the job worker's logs.",
      queueUrlVariable: "JOBS_QUEUE_URL",
      deadLetterArnVariable: "JOB_DEAD_LETTER_QUEUE_ARN",
      tracing: props.tracing,
      grant: (worker, queue) => {
        queue.grantSendMessages(worker.function);
        worker.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            // Completes multipart uploads (PutObject), deletes artifacts' objects and unfinished uploads.
            actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)],
          }),
        );
      },
    });
    if (props.mlflowAllowedHosts?.length)
      this.worker.function.addEnvironment("MLFLOW_ALLOWED_HOSTS", props.mlflowAllowedHosts.join(","));
  }

  /** Lets a function start jobs: the queue's URL in its environment and permission to send to it. */
  public allowStarting(fn: ByomFunction): void {
    fn.function.addEnvironment("JOBS_QUEUE_URL", this.queue.queueUrl);
    this.queue.grantSendMessages(fn.function);
  }
}
