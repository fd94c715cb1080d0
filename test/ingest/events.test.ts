import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEventKey } from "#lambdas/shared/object-keys.ts";
import { freePort, waitFor } from "#local/processes.ts";
import {
  type MlflowZips,
  mlflowZips,
  newProjectAndExperiment,
  uploadArtifact,
  waitForArtifact,
} from "../support/artifacts.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * S3 events as the ingest Lambda sees them: duplicates, replays and bad messages are delivered
 * straight to the same handler module, in this process, against the platform's emulators; the
 * drop folder goes through the real path (an S3 PUT, the emulator's event, the local queue).
 */
let platform: TestPlatform;
let zips: MlflowZips;
let s3: S3Client;
let ingest: (event: SQSEvent) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  const dynamoPort = await freePort();
  [platform, zips] = await Promise.all([
    startTestPlatform({ BYOM_DYNAMODB_PORT: String(dynamoPort) }),
    mlflowZips(),
  ]);
  Object.assign(process.env, {
    TABLE_NAME: "byom",
    BUCKET_NAME: platform.config.bucket,
    AWS_REGION: platform.config.region,
    AWS_ACCESS_KEY_ID: platform.config.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: platform.config.awsSecretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamoPort}`,
    AWS_ENDPOINT_URL_S3: platform.config.s3Endpoint,
    BYOM_S3_FORCE_PATH_STYLE: "true",
  });
  s3 = new S3Client({
    endpoint: platform.config.s3Endpoint,
    region: platform.config.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: platform.config.awsAccessKeyId,
      secretAccessKey: platform.config.awsSecretAccessKey,
    },
  });
  ingest = (await import("#lambdas/ingest/handlers/ingest.ts")).handler;
}, 600_000);
afterAll(async () => {
  s3?.destroy();
  await platform?.stop();
});

let messages = 0;
function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body) => ({
      messageId: `test-${++messages}`,
      receiptHandle: "r",
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "0",
        SenderId: "test",
        ApproximateFirstReceiveTimestamp: "0",
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:byom-ingest",
      awsRegion: "us-east-1",
    })),
  };
}

/** An S3 ObjectCreated notification exactly as S3 writes it to the queue. */
function notification(key: string, size: number, eTag: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        eventName: "ObjectCreated:Put",
        s3: { bucket: { name: platform.config.bucket }, object: { key: encodeEventKey(key), size, eTag } },
      },
    ],
  });
}

async function experimentsNamed(projectId: string, name: string) {
  const listed = await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`);
  return listed.body.items.filter((e: { name: string }) => e.name === name);
}

describe("S3 events", () => {
  it("ingests once under duplicate notifications, sequential and concurrent", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "duplicates");
    const bytes = readFileSync(zips.column);
    const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes);
    const ready = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(ready.status).toBe("READY");
    const experimentBefore = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experimentId}`,
    );

    const key = `artifacts/${projectId}/${experimentId}/${artifactId}`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: platform.config.bucket, Key: key }));
    const body = notification(key, bytes.length, head.ETag as string);
    expect(await ingest(sqsEvent(body, body))).toEqual({ batchItemFailures: [] });
    const concurrent = await Promise.all([
      ingest(sqsEvent(body)),
      ingest(sqsEvent(body)),
      ingest(sqsEvent(body)),
    ]);
    expect(concurrent.flatMap((r) => r.batchItemFailures)).toEqual([]);

    const after = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(after).toEqual(ready);
    const experimentAfter = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experimentId}`,
    );
    expect(experimentAfter.body.updatedAt).toBe(experimentBefore.body.updatedAt);
  });

  it("ignores an event that arrives before its object, and one for another version of it", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "out-of-order");
    const bytes = readFileSync(zips.column);
    const created = await platform.api.call(
      "POST",
      `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`,
      {
        type: "python/mlflow",
        fileName: "model.zip",
        sizeBytes: bytes.length,
      },
    );
    const { artifactId } = created.body.artifact;
    const key = `artifacts/${projectId}/${experimentId}/${artifactId}`;
    // No object yet (an event delivered early, or for a deleted object): nothing happens.
    expect(await ingest(sqsEvent(notification(key, bytes.length, "0123")))).toEqual({
      batchItemFailures: [],
    });
    const path = `/v1/projects/${projectId}/experiments/${experimentId}/artifacts/${artifactId}`;
    expect((await platform.api.call("GET", path)).body.status).toBe("UPLOADING");

    // The object exists; an event naming another ETag (an older version) changes nothing, the
    // event of the object's own version does the work.
    await fetch(created.body.upload.url, {
      method: "PUT",
      headers: created.body.upload.headers,
      body: bytes,
    });
    const ready = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(ready.status).toBe("READY");
    expect(await ingest(sqsEvent(notification(key, 5, "an-older-etag")))).toEqual({ batchItemFailures: [] });
    expect((await platform.api.call("GET", path)).body).toEqual(ready);
  });

  it("fails only the bad message of a batch (partial batch failure)", async () => {
    const good = JSON.stringify({ Event: "s3:TestEvent", Service: "Amazon S3" });
    const stray = notification("artifacts/not/an/artifact", 1, "x");
    const event = sqsEvent("{not json", good, stray);
    const result = await ingest(event);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
  });

  it("turns a drop-folder zip into exactly one experiment with its ingested artifact", async () => {
    const project = await platform.api.call("POST", "/v1/projects", { name: "drop" });
    const projectId = project.body.projectId as string;
    const bytes = readFileSync(zips.column);
    const key = `drop/${projectId}/churn model.zip`;
    const put = await s3.send(
      new PutObjectCommand({ Bucket: platform.config.bucket, Key: key, Body: bytes }),
    );

    const [experiment] = await waitFor("the dropped experiment", async () => {
      const found = await experimentsNamed(projectId, "churn model");
      return found.length > 0 ? found : undefined;
    });
    const artifacts = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experiment.experimentId}/artifacts`,
    );
    expect(artifacts.body.items).toHaveLength(1);
    const artifact = await waitForArtifact(
      platform.api,
      projectId,
      experiment.experimentId,
      artifacts.body.items[0].artifactId,
    );
    expect(artifact).toMatchObject({ status: "READY", type: "python/mlflow", fileName: "churn model.zip" });
    const shown = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experiment.experimentId}`,
    );
    expect(shown.body.metadata.input_schema.json_value).toHaveLength(3);
    expect(shown.body.metadata.source_object).toEqual({ string_value: key });

    // The same object version notified again, twice and concurrently: still one experiment.
    const body = notification(key, bytes.length, put.ETag as string);
    const replays = await Promise.all([ingest(sqsEvent(body)), ingest(sqsEvent(body, body))]);
    expect(replays.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(await experimentsNamed(projectId, "churn model")).toHaveLength(1);
  });

  it("resumes a drop whose first owner died after creating the experiment, without a second one", async () => {
    const project = await platform.api.call("POST", "/v1/projects", { name: "drop-resume" });
    const projectId = project.body.projectId as string;
    const bytes = readFileSync(zips.column);
    const key = `drop/${projectId}/resumed.zip`;
    // s3rver has no versions: the marker's version is "<etag>-<size>", the etag an MD5.
    const version = `${createHash("md5").update(bytes).digest("hex")}-${bytes.length}`;
    const { createExperimentRecord } = await import("#lambdas/experiments/experiments.ts");
    const { putNewDropMarker } = await import("#lambdas/ingest/drop-markers-repository.ts");
    // What a crash between creating the experiment and recording its id leaves behind.
    const orphan = await createExperimentRecord(
      projectId,
      {
        name: "resumed",
        metadata: { source_object: { string_value: key }, source_object_version: { string_value: version } },
      },
      "s3-drop-folder",
    );
    await putNewDropMarker(key, version, {
      state: "CLAIMED",
      owner: "a-message-whose-lambda-died",
      claimedAt: "2000-01-01T00:00:00.000Z",
      projectId,
    });

    await s3.send(new PutObjectCommand({ Bucket: platform.config.bucket, Key: key, Body: bytes }));
    const listed = await waitFor("the resumed drop's artifact", async () => {
      const page = await platform.api.call(
        "GET",
        `/v1/projects/${projectId}/experiments/${orphan.experimentId}/artifacts`,
      );
      return page.body.items.length > 0 ? page.body.items : undefined;
    });
    const artifact = await waitForArtifact(
      platform.api,
      projectId,
      orphan.experimentId,
      listed[0].artifactId,
    );
    expect(artifact.status).toBe("READY");
    expect(await experimentsNamed(projectId, "resumed")).toHaveLength(1);
  });

  it("drops a drop-folder object of an unknown project without retrying it forever", async () => {
    const unknown = "prj-0000000000aaaaaaaaaaaaaaaa";
    const body = notification(`drop/${unknown}/model.zip`, 10, "abc");
    expect(await ingest(sqsEvent(body))).toEqual({ batchItemFailures: [] });

    // Through the real path too: the unknown project's object first, then a known one; once the
    // second is an experiment the first has been handled, and nothing went to the dead letters.
    await s3.send(
      new PutObjectCommand({ Bucket: platform.config.bucket, Key: `drop/${unknown}/lost.zip`, Body: "x" }),
    );
    const project = await platform.api.call("POST", "/v1/projects", { name: "drop-2" });
    await s3.send(
      new PutObjectCommand({
        Bucket: platform.config.bucket,
        Key: `drop/${project.body.projectId}/after.zip`,
        Body: readFileSync(zips.column),
      }),
    );
    await waitFor("the second dropped experiment", async () => {
      const found = await experimentsNamed(project.body.projectId, "after");
      return found.length > 0 ? found : undefined;
    });
    expect(readdirSync(join(platform.home, "dead-letters"))).toEqual([]);
  });
});
