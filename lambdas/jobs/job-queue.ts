import type { SQSClient } from "@aws-sdk/client-sqs";

type Sender = (body: string) => Promise<void> | void;

let localSender: Sender | undefined;
let sqs: Promise<{ client: SQSClient; sdk: typeof import("@aws-sdk/client-sqs") }> | undefined;

/** Local mode delivers job messages through its own queue (local/ingest-queue.ts); see local/platform.ts. */
export function useLocalJobQueue(send: Sender): void {
  localSender = send;
}

/**
 * Queues a chunk of a job's work for the job worker: SQS (JOBS_QUEUE_URL) on AWS, local mode's file
 * queue there. The message only names the job; what to do lives on the job record.
 */
export async function enqueueJob(jobId: string): Promise<void> {
  const body = JSON.stringify({ jobId });
  if (localSender) {
    await localSender(body);
    return;
  }
  const queueUrl = process.env.JOBS_QUEUE_URL;
  if (!queueUrl) throw new Error("Environment variable JOBS_QUEUE_URL is required but not set.");
  // Loaded on first use: the handlers that start jobs pay for the SQS SDK only when they do.
  sqs ??= import("@aws-sdk/client-sqs").then((sdk) => ({ sdk, client: new sdk.SQSClient({}) }));
  const { sdk, client } = await sqs;
  await client.send(new sdk.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}
