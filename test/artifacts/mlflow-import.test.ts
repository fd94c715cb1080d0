import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, run } from "#local/processes.ts";
import { waitForArtifact, waitForJob } from "../support/artifacts.ts";
import { type MlflowServer, startMlflowServer } from "../support/mlflow-server.ts";
import { openApiChecker } from "../support/openapi-conformance.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let mlflow: MlflowServer;
let version: string;
let projectId: string;

beforeAll(async () => {
  [platform, mlflow] = await Promise.all([startTestPlatform(), startMlflowServer()]);
  // A model trained and registered by the real MLflow client.
  version = await mlflow.registerModel("churn");
  const project = await platform.api.call("POST", "/v1/projects", { name: "imports" });
  projectId = project.body.projectId;
}, 600_000);
afterAll(async () => {
  await Promise.all([platform?.stop(), mlflow?.stop()]);
});

const importPath = () => `/v1/projects/${projectId}/imports/mlflow`;
/** Starts an import (202 + job) and waits for its job to end; returns the job. */
async function importJob(body: Record<string, unknown>): Promise<any> {
  const accepted = await platform.api.call("POST", importPath(), body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  (await openApiChecker(platform.config.apiUrl))("POST", "/v1/projects/{projectId}/imports/mlflow", accepted);
  expect(accepted.headers.get("location")).toBe(`/v1/projects/${projectId}/jobs/${accepted.body.jobId}`);
  const job = await waitForJob(platform.api, projectId, accepted.body.jobId, 120_000);
  expect(job.kind).toBe("import-mlflow");
  return job;
}
const experimentCount = async () =>
  (await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`)).body.items.length;

describe("import from an MLflow Model Registry", () => {
  it("imports a registered version as an experiment whose artifact is ingested", async () => {
    const job = await importJob({ trackingUri: mlflow.url, modelName: "churn", version: Number(version) });
    expect(job.error).toBeNull();
    expect(job.status).toBe("SUCCEEDED");
    expect(job.progress.message).toMatch(/^\d+ file\(s\), \d+ bytes copied/);
    expect(job.progress.done).toBeGreaterThan(0);
    const { experiment, artifact } = job.result;
    expect(experiment.metadata).toMatchObject({
      source_model_name: { string_value: "churn" },
      source_model_version: { string_value: version },
      source_tracking_uri: { string_value: mlflow.url },
    });
    expect(artifact).toMatchObject({ type: "python/mlflow", fileName: `churn-v${version}.zip` });

    const ready = await waitForArtifact(
      platform.api,
      projectId,
      experiment.experimentId,
      artifact.artifactId,
    );
    expect(ready.failureReason).toBeNull();
    expect(ready).toMatchObject({ status: "READY", model: { framework: "sklearn", mlmodelPath: "MLmodel" } });
    const shown = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experiment.experimentId}`,
    );
    expect(shown.body.metadata.input_schema.json_value).toEqual([
      { name: "tenure", type: "Int64" },
      { name: "charges", type: "Float64" },
    ]);

    // The zip Byom wrote is one any zip reader takes, with the model's files at its root.
    const download = await platform.api.call(
      "GET",
      `/v1/projects/${projectId}/experiments/${experiment.experimentId}/artifacts/${artifact.artifactId}/download`,
    );
    const file = join(mkdtempSync(join(tmpdir(), "byom-import-")), "model.zip");
    writeFileSync(file, Buffer.from(await (await fetch(download.body.url)).arrayBuffer()));
    const names = await run("python3", [
      "-c",
      "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint('\\n'.join(z.namelist()))",
      file,
    ]);
    expect(names.split("\n")).toEqual(expect.arrayContaining(["MLmodel", "model.skops", "requirements.txt"]));
  });

  it("fails the job with NOT_FOUND naming the model and version when the registry has no such version", async () => {
    const before = await experimentCount();
    const missing = await importJob({ trackingUri: mlflow.url, modelName: "churn", version: "999" });
    expect(missing.status).toBe("FAILED");
    expect(missing.error.code).toBe("NOT_FOUND");
    expect(missing.error.message).toContain("no model 'churn' with version 999");
    const unknown = await importJob({ trackingUri: mlflow.url, modelName: "no-such-model", version: "1" });
    expect(unknown.error.code).toBe("NOT_FOUND");
    expect(unknown.error.message).toContain("'no-such-model'");
    expect(await experimentCount()).toBe(before);
  });

  it("fails the job with UPSTREAM_FAILED naming the URI when the server is unreachable", async () => {
    const before = await experimentCount();
    const deadUri = `http://127.0.0.1:${await freePort()}`;
    const job = await importJob({ trackingUri: deadUri, modelName: "churn", version: "1" });
    expect(job.status).toBe("FAILED");
    expect(job.error.code).toBe("UPSTREAM_FAILED");
    expect(job.error.message).toContain(deadUri);
    expect(await experimentCount()).toBe(before);
  });

  it("refuses URIs that are not http or https, and bad versions, with 400 and no job", async () => {
    for (const trackingUri of [
      "file:///tmp/mlruns",
      "databricks",
      "s3://bucket/mlruns",
      "http://user:pw@host",
    ]) {
      const response = await platform.api.call("POST", importPath(), {
        trackingUri,
        modelName: "m",
        version: "1",
      });
      expect(response.status, trackingUri).toBe(400);
      expect(response.body.error.details[0].path).toBe("body.trackingUri");
    }
    for (const bad of ["0", "latest", -1, 1.5]) {
      const response = await platform.api.call("POST", importPath(), {
        trackingUri: mlflow.url,
        modelName: "churn",
        version: bad,
      });
      expect(response.status, String(bad)).toBe(400);
    }
  });

  it("refuses private, link-local and IPv4-mapped addresses with 400 at request time, naming the host and the allow-list, creating no job", async () => {
    const before = await experimentCount();
    for (const [trackingUri, host] of [
      ["http://169.254.169.254/latest", "169.254.169.254"],
      ["http://10.0.0.7:5000", "10.0.0.7"],
      ["http://192.168.1.2", "192.168.1.2"],
      ["http://[fd00:ec2::254]", "fd00:ec2::254"],
      ["http://[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"],
      ["http://[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe"],
      ["http://[fe80::1]:5000", "fe80::1"],
      ["http://0.0.0.0:5000", "0.0.0.0"],
    ] as const) {
      const response = await platform.api.call("POST", importPath(), {
        trackingUri,
        modelName: "churn",
        version: "1",
      });
      expect(response.status, trackingUri).toBe(400);
      (await openApiChecker(platform.config.apiUrl))(
        "POST",
        "/v1/projects/{projectId}/imports/mlflow",
        response,
      );
      expect(response.body.error.code, trackingUri).toBe("VALIDATION_FAILED");
      expect(response.body.error.message, trackingUri).toContain(`'${host}'`);
      expect(response.body.error.message).toContain("byom:mlflowAllowedHosts");
      expect(response.body.error.details[0]).toMatchObject({ path: "body.trackingUri", host });
      // No job was started: no id to wait on, nothing to point at.
      expect(response.body.jobId, trackingUri).toBeUndefined();
      expect(response.headers.get("location"), trackingUri).toBeNull();
    }
    expect(await experimentCount()).toBe(before);
  });

  it("answers 404 at request time for a host that does not resolve, and lets loopback through in local mode", async () => {
    const unknown = await platform.api.call("POST", importPath(), {
      trackingUri: "http://mlflow.no-such-host.invalid:5000",
      modelName: "churn",
      version: "1",
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'mlflow.no-such-host.invalid' does not resolve");
    // localhost resolves to loopback, which local mode allows: the request is accepted as a job.
    const local = await importJob({
      trackingUri: `http://localhost:${await freePort()}`,
      modelName: "churn",
      version: "1",
    });
    expect(local.error.code).toBe("UPSTREAM_FAILED");
  });

  it("never echoes the upstream server's answer and refuses oversized ones", async () => {
    const secret = "internal-only: db password hunter2";
    const server = createServer((req, res) => {
      if (req.url?.startsWith("/api/2.0/mlflow/model-versions/get?")) {
        // Far more than an MLflow answer: the reader stops at its cap.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"model_version": {"name": "${"x".repeat(5 * 1024 * 1024)}"}}`);
        return;
      }
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(secret);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const big = await importJob({ trackingUri: base, modelName: "churn", version: "1" });
      expect(big.error.code).toBe("UPSTREAM_FAILED");
      expect(big.error.message).toMatch(/over \d+ bytes/);
      const failing = await importJob({ trackingUri: `${base}/prefix`, modelName: "churn", version: "1" });
      expect(failing.error.code).toBe("UPSTREAM_FAILED");
      expect(JSON.stringify(failing)).not.toContain("hunter2");
      expect(failing.error.message).toContain("HTTP 500");
    } finally {
      server.close();
    }
  });

  it("lets only editors import", async () => {
    const viewer = platform.newUser(`import-viewer-${Date.now()}`);
    await platform.api.call("PUT", `/v1/projects/${projectId}/members`, {
      principal: viewer.principal,
      role: "viewer",
    });
    const response = await viewer.call("POST", importPath(), {
      trackingUri: mlflow.url,
      modelName: "churn",
      version,
    });
    expect(response.status).toBe(403);
  });
});
