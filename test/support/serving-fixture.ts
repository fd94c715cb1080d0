import { afterAll, beforeAll } from "vitest";
import { type DeployModels, startServingFixture } from "./deployments.ts";
import type { TestPlatform } from "./platform.ts";

/*
 * The serving fixture of the test file that calls useServingFixture: the file imports these names and
 * its tests read them when they run, after that file's beforeAll has set them (ES modules' live
 * bindings; Vitest runs a file's hooks and tests before the next file's in the same worker).
 */
export let platform: TestPlatform;
export let models: DeployModels;
export let projectId: string;
export let modelId: string;

/**
 * Starts startServingFixture(project, options) before this file's tests (setting `platform`,
 * `models`, `projectId` and `modelId` above) and stops its platform after them.
 */
export function useServingFixture(
  project: string,
  options?: Parameters<typeof startServingFixture>[1],
): void {
  beforeAll(async () => {
    ({ platform, models, projectId, modelId } = await startServingFixture(project, options));
  }, 900_000);
  afterAll(async () => {
    await platform?.stop();
  });
}
