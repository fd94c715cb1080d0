import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureStore } from "#lambdas/monitoring/capture-store.ts";
import { mlflowZips } from "../support/artifacts.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import { runProcessor, startRuntime } from "../support/runtime-process.ts";

const BUCKET = "byom-capture-test";
const CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
let moto: MotoServer;
let root: string;
let ready: string;

beforeAll(async () => {
  moto = await startMotoServer();
  root = mkdtempSync(join(tmpdir(), "byom-capture-s3-"));
  ready = join(root, "ready");
  const processed = await runProcessor("python-mlflow-processor", (await mlflowZips()).column, ready);
  expect(processed.code, processed.stderr).toBe(0);
}, 900_000);
afterAll(async () => {
  await moto?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("request capture to S3", () => {
  it("writes a runtime's captured requests under its prefix in the bucket, all of them by a clean shutdown", async () => {
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "eu-west-1",
      credentials: CREDENTIALS,
    });
    await s3.send(
      new CreateBucketCommand({
        Bucket: BUCKET,
        CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
      }),
    );
    const served = await startRuntime("python-tabular-runtime", ready, "churn-v1", {
      BYOM_WORKERS: "1",
      BYOM_CAPTURE_URI: `s3://${BUCKET}/capture/dep-s3/mdl-s3-v1`,
      BYOM_CAPTURE_PERCENT: "100",
      // Longer than the test: only the shutdown writes.
      BYOM_CAPTURE_FLUSH_SECONDS: "600",
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: "eu-west-1",
    });
    let rows = 0;
    try {
      const sample = (await (await fetch(`${served.url}/model/sample_request`)).json()) as {
        fields: string[];
        rows: unknown[][];
      };
      for (let i = 0; i < 25; i++) {
        const answer = await fetch(`${served.url}/model/score`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer not-captured" },
          body: JSON.stringify(sample),
        });
        expect(answer.status).toBe(200);
        rows += sample.rows.length;
      }
      const before = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "capture/" }));
      expect(before.KeyCount ?? 0).toBe(0);
    } finally {
      await served.stop();
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "capture/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys)
      expect(key).toMatch(/^capture\/dep-s3\/mdl-s3-v1\/dt=\d{4}-\d{2}-\d{2}\/[^/]+\.jsonl\.gz$/);

    // The drift function's reader gets every row back from the bucket.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: moto.endpoint,
      BYOM_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: "eu-west-1",
    });
    try {
      const store = new CaptureStore({ kind: "s3", bucket: BUCKET, prefix: "capture/" });
      const files = await store.files("dep-s3", "mdl-s3-v1");
      expect(files).toHaveLength(keys.length);
      let read = 0;
      for (const file of files) {
        for (const request of await store.requests("dep-s3", "mdl-s3-v1", file)) {
          read += request.rows;
          expect(JSON.stringify(request)).not.toContain("not-captured");
        }
      }
      expect(read).toBe(rows);
    } finally {
      process.env = saved;
    }
  }, 600_000);
});
