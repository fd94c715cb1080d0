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
export class JobWorker extends QueueWorker {
  constructor(scope: Construct, id: string, props: JobWorkerProps) {
    super(scope, id, {
      table: props.table,
      bucket: props.bucket,
      workerId: "Worker",
      entry: JOB_HANDLER,
      description: "Byom jobs: project and experiment deletion, multipart completion",
      timeoutSeconds: JOB_TIMEOUT_SECONDS,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      maxConcurrency: props.maxConcurrency ?? 5,
      deadLetterAlarmDescription:
        "Byom jobs: messages in the dead-letter queue. Their jobs were ended FAILED on the last attempt; see the job worker's logs.",
      queueUrlVariable: "JOBS_QUEUE_URL",
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
  }

  /** Lets a function start jobs: the queue's URL in its environment and permission to send to it. */
  public allowStarting(fn: ByomFunction): void {
    fn.function.addEnvironment("JOBS_QUEUE_URL", this.queue.queueUrl);
    this.queue.grantSendMessages(fn.function);
  }
}
