import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForJob } from "../support/artifacts.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * A job never stays stuck. Here the job worker keeps its whole time back (so every chunk is exactly
 * one batch) and may use at most two invocations per job: a deletion that needs more ends FAILED
 * with the reason, and asking again starts a new job that resumes it.
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
