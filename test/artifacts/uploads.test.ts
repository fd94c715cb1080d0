import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MlflowZips,
  newProjectAndExperiment,
  SMALL_PART_BYTES,
  sha256Hex,
  startSmallPartPlatform,
  uploadArtifact,
  waitForArtifact,
  waitForJob,
} from "../support/artifacts.ts";
import { openApiChecker } from "../support/openapi-conformance.ts";
import type { TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let zips: MlflowZips;

beforeAll(async () => {
  [platform, zips] = await startSmallPartPlatform();
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

const artifactsPath = (projectId: string, experimentId: string) =>
  `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`;

describe("artifact uploads and ingestion", () => {
  it("ingests a small MLflow zip: READY, checksum verified, schema written to the experiment", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const bytes = readFileSync(zips.column);
    const { artifactId, created } = await uploadArtifact(platform.api, projectId, experimentId, bytes, {
      sha256: sha256Hex(bytes),
    });
    expect(created.artifact.status).toBe("UPLOADING");
    expect(created.upload.method).toBe("PUT");
    expect(created.upload.headers["x-amz-checksum-sha256"]).toBe(
      Buffer.from(sha256Hex(bytes), "hex").toString("base64"),
    );

    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact).toMatchObject({
      status: "READY",
      failureReason: null,
      sizeBytes: bytes.length,
      sha256: sha256Hex(bytes),
      type: "python/mlflow",
      model: {
        framework: "sklearn",
        flavors: ["python_function", "sklearn"],
        loaderModule: "mlflow.sklearn",
        mlmodelPath: "MLmodel",
        hasSignature: true,
      },
      notices: [],
    });
    expect(artifact.model.pythonVersion).toMatch(/^3\.\d+/);

    const experiment = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experimentId}`,
    );
    expect(experiment.body.metadata).toMatchObject({
      input_schema: {
        json_value: [
          { name: "age", type: "Int64" },
          { name: "income", type: "Float64" },
          { name: "score", type: "Float32" },
        ],
      },
      output_schema: { json_value: [{ name: "prediction", type: "Int64" }] },
      framework: { string_value: "sklearn" },
      loader_module: { string_value: "mlflow.sklearn" },
    });
  });

  it("finds MLmodel inside the zip's single top-level folder", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const { artifactId } = await uploadArtifact(
      platform.api,
      projectId,
      experimentId,
      readFileSync(zips.nested),
    );
    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact.status).toBe("READY");
    expect(artifact.model.mlmodelPath).toBe("my-model/MLmodel");
    expect(artifact.sha256).toBe(sha256Hex(readFileSync(zips.nested)));
  });

  it("uploads a multipart artifact of several parts, completes it and ingests it", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    // A real model zip padded with a stored filler entry, so it spans at least three parts.
    const bytes = await paddedZip(readFileSync(zips.column), 3 * SMALL_PART_BYTES + 1000);
    const { artifactId, created } = await uploadArtifact(platform.api, projectId, experimentId, bytes);
    expect(created.upload.multipart.partSizeBytes).toBe(SMALL_PART_BYTES);
    expect(created.upload.multipart.parts.length).toBeGreaterThanOrEqual(3);
    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact).toMatchObject({ status: "READY", sizeBytes: bytes.length, sha256: sha256Hex(bytes) });

    const again = await platform.api.call(
      "POST",
      `${artifactsPath(projectId, experimentId)}/${artifactId}/complete`,
      { parts: [{ partNumber: 1, etag: "x" }] },
    );
    expect(again.status).toBe(409);
  });

  it("refuses a part list with a missing or an extra part, naming it", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const created = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "big.zip",
      sizeBytes: 3 * SMALL_PART_BYTES,
    });
    expect(created.status).toBe(201);
    const { artifactId } = created.body.artifact;
    const complete = (parts: unknown) =>
      platform.api.call("POST", `${artifactsPath(projectId, experimentId)}/${artifactId}/complete`, {
        parts,
      });

    const missing = await complete([
      { partNumber: 1, etag: "a" },
      { partNumber: 3, etag: "c" },
    ]);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("missing part(s) 2");
    expect(missing.body.error.details[0].missing).toEqual([2]);

    const extra = await complete([1, 2, 3, 4].map((partNumber) => ({ partNumber, etag: "e" })));
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain("part(s) 4 beyond the plan's 3");

    const twice = await complete([1, 2, 2, 3].map((partNumber) => ({ partNumber, etag: "e" })));
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toContain("listed twice");

    const single = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "small.zip",
      sizeBytes: 10,
    });
    const notMultipart = await platform.api.call(
      "POST",
      `${artifactsPath(projectId, experimentId)}/${single.body.artifact.artifactId}/complete`,
      { parts: [{ partNumber: 1, etag: "a" }] },
    );
    expect(notMultipart.status).toBe(409);
  });

  it("gives a download URL that returns the bytes once READY, and 409 before", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const bytes = readFileSync(zips.column);
    const pending = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "model.zip",
      sizeBytes: bytes.length,
    });
    const early = await platform.api.call(
      "GET",
      `${artifactsPath(projectId, experimentId)}/${pending.body.artifact.artifactId}/download`,
    );
    expect(early.status).toBe(409);
    expect(early.body.error.message).toContain("UPLOADING");

    const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes);
    await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    const download = await platform.api.call(
      "GET",
      `${artifactsPath(projectId, experimentId)}/${artifactId}/download`,
    );
    expect(download.status).toBe(200);
    const fetched = await fetch(download.body.url);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it("accepts a pickle with its framework (READY, never unpickled) and refuses one without", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const noFramework = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/pickle",
      fileName: "model.pkl",
      sizeBytes: 10,
    });
    expect(noFramework.status).toBe(400);
    expect(noFramework.body.error.message).toContain('needs "framework"');
    expect(noFramework.body.error.details[0].path).toBe("body.framework");

    // Not a valid pickle at all: ingestion never looks inside.
    const bytes = Buffer.from("not really a pickle, and never unpickled");
    const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes, {
      type: "python/pickle",
      fileName: "model.pkl",
      framework: "sklearn",
    });
    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact).toMatchObject({ status: "READY", framework: "sklearn", model: null });
    expect(artifact.notices[0]).toContain("input_schema");
    const experiment = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experimentId}`,
    );
    expect(experiment.body.metadata.framework).toEqual({ string_value: "sklearn" });
  });

  it("refuses an unknown artifact type with 409 naming the known types, and bad sizes with 400", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const unknown = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/unheard-of",
      fileName: "x.bin",
      sizeBytes: 10,
    });
    expect(unknown.status).toBe(409);
    expect(unknown.body.error.code).toBe("UNKNOWN_CATALOG_ENTRY");
    expect(unknown.body.error.message).toContain("python/mlflow");
    expect(unknown.body.error.message).toContain("python/pickle");
    for (const sizeBytes of [0, -1, 1.5, 6 * 1024 ** 4]) {
      const bad = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
        type: "python/mlflow",
        fileName: "x.zip",
        sizeBytes,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].path).toBe("body.sizeBytes");
    }
    const slash = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "../x.zip",
      sizeBytes: 10,
    });
    expect(slash.status).toBe(400);
    const badSha = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "x.zip",
      sizeBytes: 10,
      sha256: "abc",
    });
    expect(badSha.status).toBe(400);
  });

  it("accepts an artifact type an admin added to the catalog (size and checksum only)", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const type = `custom/onnx-${Date.now()}`;
    const added = await platform.api.call("POST", "/v1/catalog/entries", {
      kind: "artifact-types",
      name: type,
      readableName: "An ONNX file",
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const bytes = Buffer.from("onnx bytes, not inspected");
    const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes, {
      type,
      fileName: "model.onnx",
      sha256: sha256Hex(bytes),
    });
    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact).toMatchObject({ status: "READY", type, sha256: sha256Hex(bytes), model: null });
  });

  it("plans a 5 GB artifact as a multipart upload within S3's limits", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const size = 5 * 1000 ** 3;
    const created = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "huge.zip",
      sizeBytes: size,
    });
    expect(created.status).toBe(201);
    const { partSizeBytes, parts } = created.body.upload.multipart;
    expect(parts.length).toBe(Math.ceil(size / partSizeBytes));
    expect(parts.length).toBeLessThanOrEqual(10_000);
    expect(partSizeBytes).toBeLessThanOrEqual(5 * 1024 ** 3);
    expect(parts[0]).toMatchObject({ partNumber: 1 });
    expect(parts.at(-1).url).toContain(`partNumber=${parts.length}`);
    // Each part URL binds its exact length: S3 refuses a part of another size.
    for (const part of [parts[0], parts.at(-1)]) {
      expect(new URL(part.url).searchParams.get("X-Amz-SignedHeaders")?.split(";")).toContain(
        "content-length",
      );
    }
  });

  it("binds the declared size into a single presigned PUT (Content-Length is signed)", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const created = await platform.api.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "small.zip",
      sizeBytes: 1234,
    });
    expect(created.status).toBe(201);
    const signed = new URL(created.body.upload.url).searchParams.get("X-Amz-SignedHeaders")?.split(";");
    expect(signed).toContain("content-length");
  });

  it("lets viewers read artifacts but not create them, and hides them from outsiders", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const { artifactId } = await uploadArtifact(
      platform.api,
      projectId,
      experimentId,
      readFileSync(zips.column),
    );
    const viewer = platform.newUser(`viewer-${Date.now()}`);
    await platform.api.call("PUT", `/v1/projects/${projectId}/members`, {
      principal: viewer.principal,
      role: "viewer",
    });
    expect((await viewer.call("GET", `${artifactsPath(projectId, experimentId)}/${artifactId}`)).status).toBe(
      200,
    );
    const listed = await viewer.call("GET", artifactsPath(projectId, experimentId));
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((a: { artifactId: string }) => a.artifactId)).toEqual([artifactId]);
    const denied = await viewer.call("POST", artifactsPath(projectId, experimentId), {
      type: "python/mlflow",
      fileName: "x.zip",
      sizeBytes: 10,
    });
    expect(denied.status).toBe(403);

    const outsider = platform.newUser(`outsider-${Date.now()}`);
    expect(
      (await outsider.call("GET", `${artifactsPath(projectId, experimentId)}/${artifactId}`)).status,
    ).toBe(404);
    const missing = await platform.api.call(
      "GET",
      `${artifactsPath(projectId, experimentId)}/art-0000000000aaaaaaaaaaaaaaaa`,
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
    const noExperiment = await platform.api.call(
      "POST",
      artifactsPath(projectId, "exp-0000000000aaaaaaaaaaaaaaaa"),
      { type: "python/mlflow", fileName: "x.zip", sizeBytes: 10 },
    );
    expect(noExperiment.status).toBe(404);
  });
});

describe("the OpenAPI document", () => {
  it("describes the real responses of every artifact operation", async () => {
    const conforms = await openApiChecker(platform.config.apiUrl);
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api);
    const list = artifactsPath(projectId, experimentId);
    const tpl = "/v1/projects/{projectId}/experiments/{experimentId}/artifacts";
    const call = async (method: string, template: string, path: string, body?: unknown) => {
      const response = await platform.api.call(method, path, body);
      conforms(method, template, response);
      return response;
    };
    const bytes = readFileSync(zips.column);
    const single = await call("POST", tpl, list, {
      type: "python/mlflow",
      fileName: "m.zip",
      sizeBytes: bytes.length,
    });
    await fetch(single.body.upload.url, { method: "PUT", headers: single.body.upload.headers, body: bytes });
    const a = single.body.artifact.artifactId;
    await waitForArtifact(platform.api, projectId, experimentId, a);
    await call("GET", `${tpl}/{artifactId}`, `${list}/${a}`);
    await call("GET", tpl, `${list}?limit=1`);
    await call("GET", `${tpl}/{artifactId}/download`, `${list}/${a}/download`);
    await call("POST", `${tpl}/{artifactId}/complete`, `${list}/${a}/complete`, {
      parts: [{ partNumber: 1, etag: "x" }],
    });
    const multi = await call("POST", tpl, list, {
      type: "python/mlflow",
      fileName: "m.zip",
      sizeBytes: 3 * SMALL_PART_BYTES,
    });
    const m = multi.body.artifact.artifactId;
    await call("GET", `${tpl}/{artifactId}/download`, `${list}/${m}/download`);
    await call("POST", `${tpl}/{artifactId}/complete`, `${list}/${m}/complete`, {
      parts: [{ partNumber: 1, etag: "x" }],
    });
    // Real parts: s3rver crashes on a completion that names parts it never received.
    const parts = [];
    for (const part of multi.body.upload.multipart.parts) {
      const put = await fetch(part.url, { method: "PUT", body: Buffer.alloc(SMALL_PART_BYTES) });
      parts.push({ partNumber: part.partNumber, etag: put.headers.get("etag") as string });
    }
    const completing = await call("POST", `${tpl}/{artifactId}/complete`, `${list}/${m}/complete`, { parts });
    expect(completing.status).toBe(202);
    await waitForJob(platform.api, projectId, completing.body.jobId);
    await call("GET", "/v1/projects/{projectId}/jobs/{jobId}", completing.body.location);
    await call(
      "GET",
      "/v1/projects/{projectId}/jobs/{jobId}",
      `/v1/projects/${projectId}/jobs/job-0000000000aaaaaaaaaaaaaaaa`,
    );
    await call("POST", tpl, list, { type: "nope", fileName: "m.zip", sizeBytes: 1 });
    await call("GET", `${tpl}/{artifactId}`, `${list}/art-0000000000aaaaaaaaaaaaaaaa`);
    await call(
      "POST",
      "/v1/projects/{projectId}/imports/mlflow",
      `/v1/projects/${projectId}/imports/mlflow`,
      {
        trackingUri: "ftp://x",
        modelName: "m",
        version: "1",
      },
    );
  });
});

/**
 * The zip plus a stored (uncompressed) random filler entry, rewritten by Python's zipfile so the
 * archive stays a valid MLflow model zip of at least `minBytes`.
 */
async function paddedZip(zip: Buffer, minBytes: number): Promise<Buffer> {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { run } = await import("#local/processes.ts");
  const dir = mkdtempSync(join(tmpdir(), "byom-pad-"));
  const file = join(dir, "padded.zip");
  writeFileSync(file, zip);
  await run("python3", [
    "-c",
    "import os,sys,zipfile\nwith zipfile.ZipFile(sys.argv[1],'a') as z: z.writestr(zipfile.ZipInfo('filler.bin'), os.urandom(int(sys.argv[2])))",
    file,
    String(minBytes),
  ]);
  return readFileSync(file);
}
