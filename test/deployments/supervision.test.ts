import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { alive, score, startServingFixture, waitForStatus } from "../support/deployments.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

const home = mkdtempSync(join(tmpdir(), "byom-supervision-"));
let platform: TestPlatform | undefined;

afterAll(async () => {
  await platform?.stop();
  rmSync(home, { recursive: true, force: true });
});

const runtimePids = (): number[] =>
  (JSON.parse(readFileSync(join(home, "services.json"), "utf8")) as Array<{ pid?: number }>)
    .map((s) => s.pid)
    .filter((pid): pid is number => typeof pid === "number");

describe("runtime services are supervised like ECS services", () => {
  it("restarts a runtime that dies, and brings deployments back when local mode restarts", async () => {
    const serving = await startServingFixture("supervision", { home, versions: ["v1"] });
    platform = serving.platform;
    const { api } = platform;
    const { models, projectId, modelId } = serving;
    const created = await api.call("POST", `/v1/projects/${projectId}/deployments`, {
      name: "supervised",
      mode: "single",
      targets: [{ modelId, version: 1 }],
    });
    const deploymentId = created.body.deploymentId;
    const live = await waitForStatus(api, projectId, deploymentId, ["HEALTHY", "FAILED"], 300_000);
    expect(live.status, JSON.stringify(live)).toBe("HEALTHY");
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const endpoint = (p: TestPlatform) => `${p.config.scoringUrl}/${deploymentId}`;
    expect((await score(endpoint(platform), request)).status).toBe(200);

    // The runtime process dies: the supervisor starts a new one and scoring comes back.
    const [first] = runtimePids();
    expect(first).toBeDefined();
    process.kill(first as number, "SIGKILL");
    await waitFor(
      "the runtime to be replaced",
      async () => (runtimePids()[0] !== first ? true : undefined),
      30_000,
    );
    const current = platform;
    // The health monitor notices, and notices the recovery.
    const unhealthy = await waitForStatus(api, projectId, deploymentId, ["UNHEALTHY"], 60_000);
    expect(unhealthy.events.at(-1).message).toMatch(/Stopped answering/);
    await waitForStatus(api, projectId, deploymentId, ["HEALTHY"], 120_000);
    await waitFor(
      "scoring to answer again",
      async () => ((await score(endpoint(current), request)).status === 200 ? true : undefined),
      120_000,
      250,
    );
    expect(alive(first as number)).toBe(false);

    // Local mode stops (its runtimes with it) and starts again on the same data.
    const before = runtimePids();
    await platform.stop();
    platform = undefined;
    for (const pid of before) expect(alive(pid)).toBe(false);
    platform = await startTestPlatform({}, home);
    const restarted = platform;
    const answer = await waitFor(
      "the restored deployment to score",
      async () => {
        const got = await score(endpoint(restarted), request);
        return got.status === 200 ? got : undefined;
      },
      120_000,
      250,
    );
    expect(answer.body.score.map((row: string[]) => row[0])).toEqual(models.expected.v1);
    expect(
      (await restarted.api.call("DELETE", `/v1/projects/${projectId}/deployments/${deploymentId}`)).status,
    ).toBe(202);
    await waitFor(
      "the deployment to be gone",
      async () =>
        (await restarted.api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}`)).status ===
        404
          ? true
          : undefined,
      60_000,
    );
    expect(runtimePids()).toEqual([]);
  }, 900_000);

  it("lets a deployment whose workflow was lost with local mode be deleted after a restart", async () => {
    const lostHome = mkdtempSync(join(tmpdir(), "byom-lost-"));
    try {
      const serving = await startServingFixture("lost", { home: lostHome, versions: ["v1"] });
      let first: TestPlatform | undefined = serving.platform;
      const { projectId, modelId } = serving;
      const created = await first.api.call("POST", `/v1/projects/${projectId}/deployments`, {
        name: "interrupted",
        mode: "single",
        targets: [{ modelId, version: 1 }],
      });
      expect(created.status).toBe(201);
      const path = `/v1/projects/${projectId}/deployments/${created.body.deploymentId}`;
      // Local mode stops in the middle of the deploy workflow.
      await waitForStatus(
        first.api,
        projectId,
        created.body.deploymentId,
        ["PROCESSING", "STARTING"],
        60_000,
      );
      await first.stop();
      first = undefined;

      const second = await startTestPlatform({}, lostHome);
      try {
        const stuck = await second.api.call("GET", path);
        expect(["PROCESSING", "STARTING"]).toContain(stuck.body.status);
        const deleting = await second.api.call("DELETE", path);
        expect(deleting.status, JSON.stringify(deleting.body)).toBe(202);
        await waitFor(
          "the deployment to be gone",
          async () => ((await second.api.call("GET", path)).status === 404 ? true : undefined),
          60_000,
        );
        const services = JSON.parse(readFileSync(join(lostHome, "services.json"), "utf8"));
        expect(services).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(lostHome, { recursive: true, force: true });
    }
  }, 600_000);
});
