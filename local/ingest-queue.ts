import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { encodeEventKey, INGEST_PREFIXES } from "#lambdas/shared/object-keys.ts";
import type { S3ObjectEvent } from "./emulators.ts";

/** As in the CDK app: a message that fails this many times goes to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 3;
const BATCH_SIZE = 10;
export const INGEST_HANDLER = "lambdas/ingest/handlers/ingest.ts";

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

/** As the ingest and job worker Lambdas' timeouts in the CDK app (cdk/constructs/*). */
const INGEST_TIMEOUT_MS = Number(process.env.BYOM_INGEST_TIMEOUT_SECONDS ?? 900) * 1000;
const JOB_TIMEOUT_MS = Number(process.env.BYOM_JOB_TIMEOUT_SECONDS ?? 900) * 1000;
export const JOB_HANDLER = "lambdas/jobs/handlers/run-jobs.ts";

export interface LocalQueueOptions {
  readonly home: string;
  /** Folder names under home for the messages and the dead letters. */
  readonly queueDir: string;
  readonly deadLetterDir: string;
  /** The SQS-triggered handler module, relative to the repository root. */
  readonly handler: string;
  readonly repoRoot: string;
  /** The handler's Lambda timeout: its context says how much of it remains. */
  readonly timeoutMs: number;
  /** For log lines: "ingest", "jobs". */
  readonly name: string;
  /**
   * Set for a worker that drains its dead-letter queue too (the job worker): a dead letter is
   * handed to the handler once more, as a record from this queue ARN.
   */
  readonly deadLetterArn?: string;
}

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  receiveCount: number;
}

/**
 * Local mode's stand-in for SQS feeding a Lambda (the ingest queue, the job queue). Messages are
 * files under `<home>/<queueDir>`, so nothing is lost across restarts; they are delivered in batches
 * to the same handler module, with partial batch failures retried and sent to
 * `<home>/<deadLetterDir>` after MAX_RECEIVE_COUNT receives.
 */
export class LocalQueue {
  private readonly queueDir: string;
  private readonly deadLetterDir: string;
  private handler: Promise<SqsHandler> | undefined;
  private draining: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: LocalQueueOptions) {
    this.queueDir = join(options.home, options.queueDir);
    this.deadLetterDir = join(options.home, options.deadLetterDir);
    mkdirSync(this.queueDir, { recursive: true });
    mkdirSync(this.deadLetterDir, { recursive: true });
  }

  enqueue(body: string): void {
    const message: QueuedMessage = { messageId: randomUUID(), body, receiveCount: 0 };
    const file = join(this.queueDir, `${Date.now().toString().padStart(15, "0")}-${message.messageId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(message));
    renameSync(`${file}.tmp`, file);
    this.kick();
  }

  /** Resolves once the queue is empty (tests and benchmarks wait on this). */
  whenIdle(): Promise<void> {
    if (!this.draining && this.pending().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  kick(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.pending().length > 0) this.kick();
      else for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  private pending(): string[] {
    return readdirSync(this.queueDir)
      .filter((name) => name.endsWith(".json"))
      .sort();
  }

  private async drain(): Promise<void> {
    for (let files = this.pending(); files.length > 0; files = this.pending()) {
      const batch = files.slice(0, BATCH_SIZE).map((name) => ({
        file: join(this.queueDir, name),
        message: JSON.parse(readFileSync(join(this.queueDir, name), "utf8")) as QueuedMessage,
      }));
      for (const entry of batch) entry.message.receiveCount += 1;
      let failedIds: Set<string>;
      try {
        const handler = await this.loadHandler();
        const response = await handler(
          { Records: batch.map(({ message }) => sqsRecord(message, QUEUE_ARN)) },
          lambdaContext(this.options.timeoutMs),
        );
        failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        console.error(`local ${this.options.name} queue: the handler failed the whole batch`, error);
        failedIds = new Set(batch.map(({ message }) => message.messageId));
      }
      for (const { file, message } of batch) {
        if (!failedIds.has(message.messageId)) {
          rmSync(file, { force: true });
        } else if (message.receiveCount >= MAX_RECEIVE_COUNT) {
          writeFileSync(join(this.deadLetterDir, `${message.messageId}.json`), JSON.stringify(message));
          rmSync(file, { force: true });
          console.error(
            `local ${this.options.name} queue: message ${message.messageId} moved to the dead-letter folder`,
          );
          await this.deliverDeadLetter(message);
        } else {
          writeFileSync(file, JSON.stringify(message));
        }
      }
      if (failedIds.size > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** As Lambda draining the dead-letter queue: one delivery; a failure is logged, the letter kept. */
  private async deliverDeadLetter(message: QueuedMessage): Promise<void> {
    if (!this.options.deadLetterArn) return;
    try {
      const handler = await this.loadHandler();
      const response = await handler(
        { Records: [sqsRecord(message, this.options.deadLetterArn)] },
        lambdaContext(this.options.timeoutMs),
      );
      if (response?.batchItemFailures?.length) throw new Error("the handler reported it failed");
    } catch (error) {
      console.error(`local ${this.options.name} queue: dead letter ${message.messageId} not handled`, error);
    }
  }

  private loadHandler(): Promise<SqsHandler> {
    this.handler ??= import(pathToFileURL(join(this.options.repoRoot, this.options.handler)).href).then(
      (m) => m.handler as SqsHandler,
    );
    return this.handler;
  }
}

/** S3 ObjectCreated events → the ingest handler, as the bucket notification and SQS do on AWS. */
export class LocalIngestQueue extends LocalQueue {
  constructor(
    home: string,
    private readonly bucket: string,
    repoRoot: string,
  ) {
    super({
      home,
      queueDir: "queue",
      deadLetterDir: "dead-letters",
      handler: INGEST_HANDLER,
      repoRoot,
      timeoutMs: INGEST_TIMEOUT_MS,
      name: "ingest",
    });
  }

  /** Called for every emulator event; keeps what the CDK notification filter would keep. */
  onObjectEvent = (event: S3ObjectEvent): void => {
    if (event.bucket !== this.bucket || !event.eventName.startsWith("ObjectCreated:")) return;
    if (!INGEST_PREFIXES.some((prefix) => event.key.startsWith(prefix))) return;
    this.enqueue(JSON.stringify(s3Notification(event)));
  };
}

/** `{"jobId"}` messages → the job worker, as the job queue does on AWS (lambdas/jobs/job-queue.ts). */
export function localJobQueue(home: string, repoRoot: string): LocalQueue {
  return new LocalQueue({
    home,
    queueDir: "jobs-queue",
    deadLetterDir: "jobs-dead-letters",
    handler: JOB_HANDLER,
    repoRoot,
    timeoutMs: JOB_TIMEOUT_MS,
    name: "jobs",
    deadLetterArn: LOCAL_JOB_DEAD_LETTER_ARN,
  });
}

function s3Notification(event: S3ObjectEvent) {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: new Date().toISOString(),
        eventName: event.eventName,
        s3: {
          s3SchemaVersion: "1.0",
          bucket: { name: event.bucket, arn: `arn:aws:s3:::${event.bucket}` },
          object: {
            key: encodeEventKey(event.key),
            size: event.size,
            eTag: event.eTag,
            sequencer: event.sequencer,
          },
        },
      },
    ],
  };
}

/** The part of a Lambda context handlers use: the time left before the function would time out. */
function lambdaContext(timeoutMs: number): Context {
  const end = Date.now() + timeoutMs;
  return { getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) } as Context;
}

const QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:byom-ingest";
/** The job queue's dead-letter queue in local mode (the job worker reads JOB_DEAD_LETTER_QUEUE_ARN). */
export const LOCAL_JOB_DEAD_LETTER_ARN = "arn:aws:sqs:us-east-1:000000000000:byom-jobs-dead-letters";

function sqsRecord(message: QueuedMessage, eventSourceARN: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.messageId,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion: "us-east-1",
  };
}
