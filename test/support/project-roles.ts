import { afterAll, beforeAll } from "vitest";
import { type ApiClient, startTestPlatform, type TestPlatform } from "./platform.ts";

/*
 * What useProjectWithRoles starts for the test file that calls it: the file imports these names and
 * its tests read them when they run, after that file's beforeAll has set them (ES modules' live
 * bindings; Vitest runs a file's hooks and tests before the next file's in the same worker).
 */
export let platform: TestPlatform;
export let projectId: string;
/** A member of the project with the viewer role. */
export let viewer: ApiClient & { principal: string };
/** A user who is no member of the project. */
export let outsider: ApiClient & { principal: string };

/**
 * Starts local mode before this file's tests with a project named `project` (owned by the
 * platform's own user), the users `<users>-viewer` (its viewer) and `<users>-outsider`, and stops
 * it after them.
 */
export function useProjectWithRoles(project: string, users: string): void {
  beforeAll(async () => {
    platform = await startTestPlatform();
    projectId = (await platform.api.call("POST", "/v1/projects", { name: project })).body.projectId;
    viewer = platform.newUser(`${users}-viewer`);
    outsider = platform.newUser(`${users}-outsider`);
    await platform.api.call("PUT", `/v1/projects/${projectId}/members`, {
      principal: viewer.principal,
      role: "viewer",
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });
}
