import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForArtifact, waitForJob } from "../support/artifacts.ts";
import { s3ClientFor, startTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * Jobs (docs/ingestion.md, "Jobs"), with a job worker whose invocations last 3 s and keep 2.9 s
 * back: every job runs in chunks of 100 ms, as a long one does on AWS within 15 minutes (on a quiet
 * machine a project of 2,000 artifacts is gone in well under a second, one 500 ms chunk).
 */
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform({ BYOM_JOB_TIMEOUT_SECONDS: "3", BYOM_JOB_TIME_MARGIN_MS: "2900" });
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

/** Runs `work` over 0..count-1, `width` at a time. */
async function inParallel(count: number, width: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

describe("project deletion as a job", () => {
  it("finishes for thousands of artifacts, in chunks, refusing writes from the start", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "many-artifacts" });
    const p = project.projectId as string;
    const experiments: string[] = [];
    for (const name of ["a", "b"]) {
      experiments.push(
        (await platform.api.call("POST", `/v1/projects/${p}/experiments`, { name })).body.experimentId,
      );
    }
    const ARTIFACTS = 2000;
    const objects: string[] = [];
    const uploaded: Array<[string, string]> = [];
    await inParallel(ARTIFACTS, 8, async (i) => {
      const e = experiments[i % 2] as string;
      const bytes = Buffer.from(`model ${i}`);
      const created = await platform.api.call("POST", `/v1/projects/${p}/experiments/${e}/artifacts`, {
        type: "python/pickle",
        fileName: `m${i}.pkl`,
        sizeBytes: bytes.length,
        framework: "sklearn",
      });
      expect(created.status).toBe(201);
      // A few with bytes in the bucket; the rest were never uploaded.
      if (i % 200 === 0) {
        const { url, headers } = created.body.upload;
        expect((await fetch(url, { method: "PUT", headers, body: bytes })).status).toBe(200);
        objects.push(`artifacts/${p}/${e}/${created.body.artifact.artifactId}`);
        uploaded.push([e, created.body.artifact.artifactId]);
      }
    });
    for (const [e, a] of uploaded) await waitForArtifact(platform.api, p, e, a);

    const deleting = await platform.api.call("DELETE", `/v1/projects/${p}`);
    expect(deleting.status).toBe(202);
    const location = deleting.headers.get("location");
    expect(location).toBe(`/v1/projects/${p}/jobs/${deleting.body.jobId}`);
    // Marked deleting at once: writes get 409, reads 404 (the job still answers); asking again gives the same job.
    expect((await platform.api.call("GET", `/v1/projects/${p}`)).status).toBe(404);
    const write = await platform.api.call("POST", `/v1/projects/${p}/experiments`, { name: "late" });
    expect(write.status).toBe(409);
    expect(write.body.error.code).toBe("PROJECT_DELETING");
    const again = await platform.api.call("DELETE", `/v1/projects/${p}`);
    expect(again.body.jobId).toBe(deleting.body.jobId);

    const progress: number[] = [];
    const deadline = Date.now() + 240_000;
    let job: any;
    for (;;) {
      job = (await platform.api.call("GET", location as string)).body;
      progress.push(job.progress.done);
      if (job.status === "SUCCEEDED" || job.status === "FAILED") break;
      if (Date.now() > deadline)
        throw new Error(`deletion still ${job.status}: ${JSON.stringify(job.progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(job.error).toBeNull();
    expect(job).toMatchObject({ kind: "delete-project", status: "SUCCEEDED" });
    expect(job.result.artifactsRemoved).toBe(ARTIFACTS);
    expect(job.result.itemsRemoved).toBeGreaterThanOrEqual(3); // two experiments and the membership
    // It went in several chunks, and progress was visible while it ran.
    expect(new Set(progress.filter((done) => done > 0 && done < ARTIFACTS)).size).toBeGreaterThan(0);

    expect((await platform.api.call("GET", `/v1/projects/${p}`)).status).toBe(404);
    // Local mode's S3 answers only requests signed with the start's credentials.
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    const { config } = platform;
    const s3 = await s3ClientFor(config);
    const status = async (key: string) =>
      s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key })).then(
        (out) => out.$metadata.httpStatusCode ?? 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode ?? -1,
      );
    try {
      expect(new Set(await Promise.all(objects.map(status)))).toEqual(new Set([404]));
    } finally {
      s3.destroy();
    }
    // The one who asked still sees how it ended; nobody else does.
    const outsider = platform.newUser("jobs-outsider");
    expect((await outsider.call("GET", location as string)).status).toBe(404);
  }, 600_000);

  it("answers 404 for a job of another project and for an unknown job", async () => {
    const { body: one } = await platform.api.call("POST", "/v1/projects", { name: "one" });
    const { body: two } = await platform.api.call("POST", "/v1/projects", { name: "two" });
    const { body: e } = await platform.api.call("POST", `/v1/projects/${one.projectId}/experiments`, {
      name: "x",
    });
    const deleted = await platform.api.call(
      "DELETE",
      `/v1/projects/${one.projectId}/experiments/${e.experimentId}`,
    );
    expect((await waitForJob(platform.api, one.projectId, deleted.body.jobId)).status).toBe("SUCCEEDED");
    expect(
      (await platform.api.call("GET", `/v1/projects/${two.projectId}/jobs/${deleted.body.jobId}`)).status,
    ).toBe(404);
    const unknown = await platform.api.call(
      "GET",
      `/v1/projects/${one.projectId}/jobs/job-0000000000aaaaaaaaaaaaaaaa`,
    );
    expect(unknown.status).toBe(404);
  });
});
