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
} from "../support/artifacts.ts";
import type { TestPlatform } from "../support/platform.ts";

/** A registered version always means the same bytes and schema (docs/data-model.md). */
let platform: TestPlatform;
let zips: MlflowZips;

beforeAll(async () => {
  [platform, zips] = await startSmallPartPlatform();
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

async function registered(name: string) {
  const { projectId, experimentId } = await newProjectAndExperiment(platform.api, name);
  const bytes = readFileSync(zips.column);
  const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes);
  expect((await waitForArtifact(platform.api, projectId, experimentId, artifactId)).status).toBe("READY");
  const model = await platform.api.call("POST", `/v1/projects/${projectId}/models`, { name });
  const version = await platform.api.call(
    "POST",
    `/v1/projects/${projectId}/models/${model.body.modelId}/versions`,
    { experimentId },
  );
  expect(version.status, JSON.stringify(version.body)).toBe(201);
  return { projectId, experimentId, artifactId, bytes, modelId: model.body.modelId, version: version.body };
}

describe("immutable model versions", () => {
  it("pins the artifact id, its SHA-256 and the S3 object's ETag on the version", async () => {
    const { projectId, modelId, artifactId, bytes, version } = await registered("pin");
    expect(version.artifact).toMatchObject({
      artifactId,
      type: "python/mlflow",
      sha256: sha256Hex(bytes),
      sizeBytes: bytes.length,
    });
    expect(version.artifact.etag).toMatch(/^[0-9a-f-]{32,}/);
    const shown = await platform.api.call("GET", `/v1/projects/${projectId}/models/${modelId}/versions/1`);
    expect(shown.body.artifact).toEqual(version.artifact);
  });

  it("refuses schema changes with 409 EXPERIMENT_REGISTERED and keeps other metadata editable", async () => {
    const { projectId, experimentId } = await registered("schema");
    const path = `/v1/projects/${projectId}/experiments/${experimentId}`;
    const before = (await platform.api.call("GET", path)).body;
    for (const metadata of [
      { input_schema: { json_value: [{ name: "x", type: "Float64" }] } },
      { output_schema: null },
    ]) {
      const refused = await platform.api.call("PATCH", path, { metadata });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("EXPERIMENT_REGISTERED");
      expect(refused.body.error.message).toMatch(/Create a new experiment/);
    }
    expect((await platform.api.call("GET", path)).body.metadata).toEqual(before.metadata);
    const edited = await platform.api.call("PATCH", path, { metadata: { auc: { double_value: 0.9 } } });
    expect(edited.status).toBe(200);
    expect(edited.body.metadata.auc).toEqual({ double_value: 0.9 });
    expect(edited.body.metadata.input_schema).toEqual(before.metadata.input_schema);
  });

  it("refuses new model uploads to a registered experiment", async () => {
    const { projectId, experimentId } = await registered("upload");
    const created = await platform.api.call(
      "POST",
      `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`,
      { type: "python/mlflow", fileName: "other.zip", sizeBytes: 1000 },
    );
    expect(created.status).toBe(409);
    expect(created.body.error.code).toBe("EXPERIMENT_REGISTERED");
  });

  it("fails an upload that was started before registration and finished after it", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "late");
    const base = `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`;
    const bytes = readFileSync(zips.column);
    const single = await platform.api.call("POST", base, {
      type: "python/mlflow",
      fileName: "model.zip",
      sizeBytes: bytes.length,
    });
    const multipart = await platform.api.call("POST", base, {
      type: "python/mlflow",
      fileName: "big.zip",
      sizeBytes: 3 * SMALL_PART_BYTES,
    });
    expect(multipart.body.upload.multipart).toBeDefined();
    const model = await platform.api.call("POST", `/v1/projects/${projectId}/models`, { name: "late" });
    const version = await platform.api.call(
      "POST",
      `/v1/projects/${projectId}/models/${model.body.modelId}/versions`,
      { experimentId },
    );
    expect(version.status).toBe(201);
    expect(version.body.artifact).toBeNull();

    const { url, headers } = single.body.upload;
    expect((await fetch(url, { method: "PUT", headers, body: bytes })).status).toBe(200);
    const late = await waitForArtifact(
      platform.api,
      projectId,
      experimentId,
      single.body.artifact.artifactId,
    );
    expect(late.status).toBe("FAILED");
    expect(late.failureReason).toMatch(/is registered as version 1/);

    const complete = await platform.api.call(
      "POST",
      `${base}/${multipart.body.artifact.artifactId}/complete`,
      { parts: [1, 2, 3].map((partNumber) => ({ partNumber, etag: "x" })) },
    );
    expect(complete.status).toBe(409);
    expect(complete.body.error.code).toBe("EXPERIMENT_REGISTERED");
  });
});
