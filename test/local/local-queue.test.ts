import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalQueue, MAX_RECEIVE_COUNT } from "#local/ingest-queue.ts";

const dir = mkdtempSync(join(tmpdir(), "byom-local-queue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A handler that fails every message from the queue and writes down what it received: each
 * delivery's source ARN and receive count, so the test sees what SQS + Lambda would hand it.
 */
const HANDLER = join(dir, "handler.mjs");
const LOG = join(dir, "deliveries.jsonl");
writeFileSync(
  HANDLER,
  `import { appendFileSync } from "node:fs";
export async function handler(event) {
  const failures = [];
  for (const r of event.Records) {
    appendFileSync(${JSON.stringify(LOG)}, JSON.stringify({ arn: r.eventSourceARN, count: r.attributes.ApproximateReceiveCount, body: r.body }) + "\\n");
    if (!r.eventSourceARN.endsWith("dead-letters")) failures.push({ itemIdentifier: r.messageId });
  }
  return { batchItemFailures: failures };
}
`,
);

describe("local mode's queue", () => {
  it("moves a message that fails every receive to the dead letters, and hands a draining worker its letter once", async () => {
    const deadLetterArn = "arn:aws:sqs:us-east-1:000000000000:byom-jobs-dead-letters";
    const queue = new LocalQueue({
      home: dir,
      queueDir: "q",
      deadLetterDir: "dead",
      handler: HANDLER,
      repoRoot: "/",
      timeoutMs: 60_000,
      name: "test",
      deadLetterArn,
    });
    queue.enqueue(JSON.stringify({ jobId: "j1" }));
    await queue.whenIdle();
    const deliveries = readFileSync(LOG, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { arn: string; count: string; body: string });
    expect(deliveries.map((d) => [d.arn === deadLetterArn, d.count])).toEqual([
      ...Array.from({ length: MAX_RECEIVE_COUNT }, (_, i) => [false, String(i + 1)]),
      [true, String(MAX_RECEIVE_COUNT)],
    ]);
    expect(new Set(deliveries.map((d) => d.body))).toEqual(new Set([JSON.stringify({ jobId: "j1" })]));
    expect(readdirSync(join(dir, "dead"))).toHaveLength(1);
    expect(readdirSync(join(dir, "q"))).toEqual([]);
  });
});
