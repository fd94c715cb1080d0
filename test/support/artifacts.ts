import { createHash } from "node:crypto";
import { join } from "node:path";
import { expect } from "vitest";
import { run, waitFor } from "#local/processes.ts";
import { ensurePythonEnv, type PythonEnv } from "#local/python-env.ts";
import { fixtureDir, fixturePath } from "./fixture-dir.ts";
import type { ApiClient, TestPlatform } from "./platform.ts";
import { REPO_ROOT, startTestPlatform } from "./platform.ts";

export const MLFLOW_REQUIREMENTS = join(REPO_ROOT, "test/fixtures/mlflow-requirements.txt");

export function mlflowVenv(): Promise<PythonEnv> {
  return ensurePythonEnv("mlflow-fixtures", [MLFLOW_REQUIREMENTS]);
}

export interface MlflowZips {
  /** DataFrame signature, model directory at the zip root. */
  readonly column: string;
  /** The same model inside one top-level folder. */
  readonly nested: string;
  /** numpy signature: tensor-based inputs. */
  readonly tensor: string;
}

/**
 * Real MLflow model zips, written by the real mlflow package (test/fixtures/make_mlflow_model.py),
 * built once and reused while the script and requirements are unchanged.
 */
export async function mlflowZips(): Promise<MlflowZips> {
  const script = join(REPO_ROOT, "test/fixtures/make_mlflow_model.py");
  const dir = fixturePath("mlflow-zips", [script, MLFLOW_REQUIREMENTS]);
  const zips = {
    column: join(dir, "column.zip"),
    nested: join(dir, "nested.zip"),
    tensor: join(dir, "tensor.zip"),
  };
  await fixtureDir(dir, ["column.zip", "nested.zip", "tensor.zip"], async (into) => {
    const venv = await mlflowVenv();
    await run(venv.python, [script, into]);
  });
  return zips;
}

/** The multipart part size of the platform startSmallPartPlatform starts. */
export const SMALL_PART_BYTES = 64 * 1024;

/**
 * Local mode with small multipart settings (an upload of more than two 64 KiB parts goes in parts),
 * so that a three-part upload stays small (s3rver has no 5 MiB floor); and the MLflow zips.
 */
export function startSmallPartPlatform(): Promise<[TestPlatform, MlflowZips]> {
  return Promise.all([
    startTestPlatform({
      BYOM_MULTIPART_THRESHOLD_BYTES: String(2 * SMALL_PART_BYTES),
      BYOM_MULTIPART_PART_SIZE_BYTES: String(SMALL_PART_BYTES),
    }),
    mlflowZips(),
  ]);
}

export const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Creates an artifact and PUTs the bytes to the URL(s) it returns; returns the artifact id. */
export async function uploadArtifact(
  api: ApiClient,
  projectId: string,
  experimentId: string,
  bytes: Buffer,
  options: { type?: string; fileName?: string; sha256?: string; framework?: string; sizeBytes?: number } = {},
): Promise<{ artifactId: string; created: any }> {
  const base = `/v1/projects/${projectId}/experiments/${experimentId}/artifacts`;
  const created = await api.call("POST", base, {
    type: options.type ?? "python/mlflow",
    fileName: options.fileName ?? "model.zip",
    sizeBytes: options.sizeBytes ?? bytes.length,
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
    ...(options.framework ? { framework: options.framework } : {}),
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const { artifact, upload } = created.body;
  if (upload.multipart) {
    const { partSizeBytes, parts } = upload.multipart;
    const done = [];
    for (const part of parts) {
      const start = (part.partNumber - 1) * partSizeBytes;
      const response = await fetch(part.url, {
        method: "PUT",
        body: bytes.subarray(start, start + partSizeBytes),
      });
      expect(response.status).toBe(200);
      done.push({ partNumber: part.partNumber, etag: response.headers.get("etag") as string });
    }
    const completed = await api.call("POST", `${base}/${artifact.artifactId}/complete`, { parts: done });
    expect(completed.status, JSON.stringify(completed.body)).toBe(202);
    expect((await waitForJob(api, projectId, completed.body.jobId)).status).toBe("SUCCEEDED");
  } else {
    const response = await fetch(upload.url, { method: "PUT", headers: upload.headers, body: bytes });
    expect(response.status).toBe(200);
  }
  return { artifactId: artifact.artifactId, created: created.body };
}

/** Polls a job until it is SUCCEEDED or FAILED (bounded); returns it. */
export function waitForJob(
  api: ApiClient,
  projectId: string,
  jobId: string,
  timeoutMs = 60_000,
): Promise<any> {
  return waitFor(
    `job ${jobId} to finish`,
    async () => {
      const response = await api.call("GET", `/v1/projects/${projectId}/jobs/${jobId}`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return ["SUCCEEDED", "FAILED"].includes(response.body.status) ? response.body : undefined;
    },
    timeoutMs,
    100,
  );
}

/** Polls an artifact until it is READY or FAILED (bounded). */
export function waitForArtifact(
  api: ApiClient,
  projectId: string,
  experimentId: string,
  artifactId: string,
  timeoutMs = 30_000,
): Promise<any> {
  return waitFor(
    `artifact ${artifactId} to be READY or FAILED`,
    async () => {
      const path = `/v1/projects/${projectId}/experiments/${experimentId}/artifacts/${artifactId}`;
      const response = await api.call("GET", path);
      expect(response.status).toBe(200);
      return ["READY", "FAILED"].includes(response.body.status) ? response.body : undefined;
    },
    timeoutMs,
    100,
  );
}

export async function newProjectAndExperiment(api: ApiClient, name = "artifacts") {
  const project = await api.call("POST", "/v1/projects", { name });
  expect(project.status).toBe(201);
  const experiment = await api.call("POST", `/v1/projects/${project.body.projectId}/experiments`, { name });
  expect(experiment.status).toBe(201);
  return {
    projectId: project.body.projectId as string,
    experimentId: experiment.body.experimentId as string,
  };
}
