import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  mlflowZips,
  newProjectAndExperiment,
  uploadArtifact,
  waitForArtifact,
} from "../support/artifacts.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let zip: string;
beforeAll(async () => {
  const [started, zips] = await Promise.all([
    // The ingest function's whole time is kept back as the margin for writing the outcome: the
    // budget is spent before ingestion starts, as when a huge file meets the 15-minute limit.
    startTestPlatform({ BYOM_INGEST_TIMEOUT_SECONDS: "30", BYOM_INGEST_TIME_MARGIN_MS: "30000" }),
    mlflowZips(),
  ]);
  platform = started;
  zip = zips.column;
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

describe("ingestion's time budget", () => {
  it("ends an artifact FAILED with a reason instead of running into the function's timeout", async () => {
    const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "time-budget");
    const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, readFileSync(zip));
    const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("Ingestion stopped before the ingest function's time limit");
  });
});
