import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, run } from "#local/processes.ts";
import { mlflowVenv, waitForArtifact } from "../support/artifacts.ts";
import { type MlflowServer, startMlflowServer } from "../support/mlflow-server.ts";
import { openApiChecker } from "../support/openapi-conformance.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let mlflow: MlflowServer;
let version: string;
let projectId: string;

beforeAll(async () => {
  [platform, mlflow] = await Promise.all([startTestPlatform(), startMlflowServer()]);
  // A model trained and registered by the real MLflow client.
  const venv = await mlflowVenv();
  const out = await run(venv.python, [
    join(REPO_ROOT, "test/fixtures/register_mlflow_model.py"),
    mlflow.url,
    "churn",
  ]);
  version = out.trim().split("\n").at(-1) as string;
  const project = await platform.api.call("POST", "/v1/projects", { name: "imports" });
  projectId = project.body.projectId;
}, 600_000);
afterAll(async () => {
  await Promise.all([platform?.stop(), mlflow?.stop()]);
});

const importPath = () => `/v1/projects/${projectId}/imports/mlflow`;
const experimentCount = async () =>
  (await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`)).body.items.length;

describe("import from an MLflow Model Registry", () => {
  it("imports a registered version as an experiment whose artifact is ingested", async () => {
    const imported = await platform.api.call("POST", importPath(), {
      trackingUri: mlflow.url,
      modelName: "churn",
      version: Number(version),
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    (await openApiChecker(platform.config.apiUrl))(
      "POST",
      "/v1/projects/{projectId}/imports/mlflow",
      imported,
    );
    const { experiment, artifact } = imported.body;
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

  it("answers 404 naming the model and version when the registry has no such version", async () => {
    const before = await experimentCount();
    const missing = await platform.api.call("POST", importPath(), {
      trackingUri: mlflow.url,
      modelName: "churn",
      version: "999",
    });
    expect(missing.status).toBe(404);
    (await openApiChecker(platform.config.apiUrl))(
      "POST",
      "/v1/projects/{projectId}/imports/mlflow",
      missing,
    );
    expect(missing.body.error.code).toBe("NOT_FOUND");
    expect(missing.body.error.message).toContain("no model 'churn' with version 999");
    const unknown = await platform.api.call("POST", importPath(), {
      trackingUri: mlflow.url,
      modelName: "no-such-model",
      version: "1",
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain("'no-such-model'");
    expect(await experimentCount()).toBe(before);
  });

  it("answers 502 naming the URI when the server is unreachable", async () => {
    const before = await experimentCount();
    const deadUri = `http://127.0.0.1:${await freePort()}`;
    const response = await platform.api.call("POST", importPath(), {
      trackingUri: deadUri,
      modelName: "churn",
      version: "1",
    });
    expect(response.status).toBe(502);
    (await openApiChecker(platform.config.apiUrl))(
      "POST",
      "/v1/projects/{projectId}/imports/mlflow",
      response,
    );
    expect(response.body.error.code).toBe("UPSTREAM_FAILED");
    expect(response.body.error.message).toContain(deadUri);
    expect(await experimentCount()).toBe(before);
  });

  it("refuses URIs that are not http or https, and bad versions", async () => {
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

  it("refuses private, link-local and IPv4-mapped addresses with 400 unless allowed, before any connection", async () => {
    const before = await experimentCount();
    for (const trackingUri of [
      "http://169.254.169.254/latest",
      "http://10.0.0.7:5000",
      "http://192.168.1.2",
      "http://[fd00:ec2::254]",
      "http://[::ffff:169.254.169.254]",
      "http://[::ffff:a9fe:a9fe]",
      "http://[fe80::1]:5000",
      "http://0.0.0.0:5000",
    ]) {
      const response = await platform.api.call("POST", importPath(), {
        trackingUri,
        modelName: "churn",
        version: "1",
      });
      expect(response.status, trackingUri).toBe(400);
      expect(response.body.error.details[0].path).toBe("body.trackingUri");
      expect(response.body.error.message).toContain("byom:mlflowAllowedHosts");
    }
    expect(await experimentCount()).toBe(before);
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
      const big = await platform.api.call("POST", importPath(), {
        trackingUri: base,
        modelName: "churn",
        version: "1",
      });
      expect(big.status).toBe(502);
      expect(big.body.error.message).toMatch(/over \d+ bytes/);
      const failing = await platform.api.call("POST", importPath(), {
        trackingUri: `${base}/prefix`,
        modelName: "churn",
        version: "1",
      });
      expect(failing.status).toBe(502);
      expect(JSON.stringify(failing.body)).not.toContain("hunter2");
      expect(failing.body.error.message).toContain("HTTP 500");
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
