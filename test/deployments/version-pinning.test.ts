import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArtifactPin } from "#lambdas/models/models-repository.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";

/**
 * The deployer stages exactly the object a model version pinned, against moto's S3, which keeps
 * object versions as S3 does (s3rver keeps none).
 */
const BUCKET = "byom-pinning-test";
const KEY =
  "artifacts/prj-00000000000000000000000000/exp-00000000000000000000000000/art-00000000000000000000000000";
let moto: MotoServer;
let client: S3Client;
let dir: string;
let store: typeof import("#lambdas/deployments/workflow/pinned-download.ts");

beforeAll(async () => {
  moto = await startMotoServer();
  Object.assign(process.env, {
    BUCKET_NAME: BUCKET,
    TABLE_NAME: "unused-here",
    AWS_ENDPOINT_URL_S3: moto.endpoint,
    BYOM_S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: "moto",
    AWS_SECRET_ACCESS_KEY: "moto",
    AWS_REGION: "us-east-1",
  });
  client = new S3Client({
    endpoint: moto.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "moto", secretAccessKey: "moto" },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await client.send(
    new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
  );
  store = await import("#lambdas/deployments/workflow/pinned-download.ts");
  dir = mkdtempSync(join(tmpdir(), "byom-pinning-"));
}, 300_000);

afterAll(async () => {
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function put(bytes: Buffer): Promise<{ etag: string; versionId: string }> {
  const out = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: bytes }));
  expect(out.VersionId).toBeTruthy();
  return { etag: (out.ETag ?? "").replace(/"/g, ""), versionId: out.VersionId as string };
}

const pinOf = (bytes: Buffer, object: { etag: string; versionId: string | null }): ArtifactPin => ({
  artifactId: "art-00000000000000000000000000",
  type: "python/mlflow",
  sha256: createHash("sha256").update(bytes).digest("hex"),
  sizeBytes: bytes.length,
  objectKey: KEY,
  ...object,
});

describe("staging a pinned artifact (moto S3 with versioning)", () => {
  it("stages the registered version even after the key was overwritten with other bytes", async () => {
    const registered = randomBytes(200_000);
    const pin = pinOf(registered, await put(registered));
    await put(randomBytes(200_000)); // a principal with s3:PutObject swaps the model
    const target = join(dir, "pinned");
    const bytes = await store.downloadPinnedObject(pin, KEY, target);
    expect(bytes).toBe(registered.length);
    expect(readFileSync(target).equals(registered)).toBe(true);
  });

  it("refuses an object whose ETag no longer matches the pin (no version id to fall back on)", async () => {
    const registered = randomBytes(50_000);
    const { etag } = await put(registered);
    await put(randomBytes(50_000));
    const pin = pinOf(registered, { etag, versionId: null });
    await expect(store.downloadPinnedObject(pin, KEY, join(dir, "swapped"))).rejects.toThrow(
      /no longer in the bucket as registered/,
    );
  });

  it("refuses bytes whose SHA-256 differs from the pin", async () => {
    const registered = randomBytes(10_000);
    const object = await put(registered);
    const pin = { ...pinOf(registered, object), sha256: "0".repeat(64) };
    await expect(store.downloadPinnedObject(pin, KEY, join(dir, "corrupt"))).rejects.toThrow(
      /read back as 10000 bytes with SHA-256/,
    );
  });

  it("refuses to stage an artifact other than the pinned one", async () => {
    const registered = randomBytes(1_000);
    const pin = pinOf(registered, await put(registered));
    await expect(store.downloadPinnedObject(pin, `${KEY.slice(0, -1)}1`, join(dir, "other"))).rejects.toThrow(
      /pins artifact/,
    );
  });
});
