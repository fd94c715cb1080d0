import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForJob } from "../support/artifacts.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * A job never stays stuck. Here the job worker keeps its whole time back (so every chunk is exactly
 * one batch) and may use at most two invocations per job: a deletion that needs more ends FAILED
 * with the reason, and asking again starts a new job that resumes it. An MLflow import, whose zip
 * stream cannot resume in another invocation, ends FAILED when its time runs out.
 */
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform({
    BYOM_JOB_TIMEOUT_SECONDS: "5",
    BYOM_JOB_TIME_MARGIN_MS: "5000",
    BYOM_JOB_MAX_CHUNKS: "2",
  });
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

describe("a job that cannot finish in its invocations", () => {
  it("ends FAILED with the reason, and DELETE again starts a new job", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "too-big" });
    const p = project.projectId as string;
    const { body: e } = await platform.api.call("POST", `/v1/projects/${p}/experiments`, { name: "e" });
    for (let i = 0; i < 250; i++) {
      const created = await platform.api.call(
        "POST",
        `/v1/projects/${p}/experiments/${e.experimentId}/artifacts`,
        {
          type: "python/pickle",
          fileName: `m${i}.pkl`,
          sizeBytes: 10,
          framework: "sklearn",
        },
      );
      expect(created.status).toBe(201);
    }
    const first = await platform.api.call("DELETE", `/v1/projects/${p}`);
    expect(first.status).toBe(202);
    const failed = await waitForJob(platform.api, p, first.body.jobId);
    expect(failed.status).toBe("FAILED");
    expect(failed.error.code).toBe("JOB_STALLED");
    expect(failed.error.message).toContain("did not finish within 2 invocations");
    expect(failed.progress.message).toBe("200 artifact(s) and 0 other item(s) removed");

    const again = await platform.api.call("DELETE", `/v1/projects/${p}`);
    expect(again.status).toBe(202);
    expect(again.body.jobId).not.toBe(first.body.jobId);
    const second = await waitForJob(platform.api, p, again.body.jobId);
    // It resumed: the 50 artifacts left were removed in its first chunk.
    expect(second.progress.message).toMatch(/^50 artifact\(s\)/);
  }, 300_000);
});

describe("an MLflow import that would outrun the job worker", () => {
  it("ends FAILED with the reason, its artifact FAILED, instead of being cut off", async () => {
    // A stand-in for the MLflow REST API (the real server is in test/artifacts/mlflow-import.test.ts):
    // one version holding one MLmodel file.
    const mlmodel = "flavors:\n  python_function: {}\n";
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      const json = (body: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === "/api/2.0/mlflow/model-versions/get")
        return json({ model_version: { name: "slow", version: "1", status: "READY" } });
      if (url.pathname === "/api/2.0/mlflow/model-versions/get-download-uri")
        return json({ artifact_uri: "mlflow-artifacts:/m" });
      if (url.pathname === "/api/2.0/mlflow-artifacts/artifacts")
        return json({ files: [{ path: "MLmodel", is_dir: false, file_size: mlmodel.length }] });
      if (url.pathname === "/api/2.0/mlflow-artifacts/artifacts/m/MLmodel") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        return res.end(mlmodel);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    try {
      const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "slow-import" });
      const p = project.projectId as string;
      const accepted = await platform.api.call("POST", `/v1/projects/${p}/imports/mlflow`, {
        trackingUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        modelName: "slow",
        version: 1,
      });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      // This worker keeps its whole time back: the transfer stops at its first bytes.
      const job = await waitForJob(platform.api, p, accepted.body.jobId);
      expect(job.status).toBe("FAILED");
      expect(job.error.code).toBe("UPSTREAM_FAILED");
      expect(job.error.message).toContain("did not finish within one run of the job worker");
      const experimentId = /Experiment '(exp-[^']+)'/.exec(job.error.message)?.[1];
      const artifacts = await platform.api.call(
        "GET",
        `/v1/projects/${p}/experiments/${experimentId}/artifacts`,
      );
      expect(artifacts.body.items).toHaveLength(1);
      expect(artifacts.body.items[0]).toMatchObject({ status: "FAILED" });
      expect(artifacts.body.items[0].failureReason).toContain("did not finish within one run");
    } finally {
      server.close();
    }
  }, 300_000);
});
