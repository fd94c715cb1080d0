import { describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { registerDropped, runtimeProcesses, score, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

/**
 * A failed PATCH leaves the live revision serving. The live revision must first become HEALTHY,
 * which on a loaded machine has taken over 60 s (a runtime loading its model at load ≈27): this
 * file waits up to READY_TIMEOUT_MS for it, apart from failures.test.ts, whose never-ready runtime
 * must time out quickly. Every assertion stays exact; only the wait is long.
 */
const READY_TIMEOUT_MS = 600_000;

// A processor size limit the padded model (the PATCH) exceeds.
useServingFixture("deploy-failed-update", {
  env: {
    BYOM_MAX_UNZIPPED_BYTES: String(512 * 1024),
    BYOM_RUNTIME_READY_TIMEOUT_SECONDS: String(READY_TIMEOUT_MS / 1000),
  },
});

const deployments = `/v1/projects/{p}/deployments`;
const create = (body: Record<string, unknown>) =>
  platform.api.call("POST", deployments.replace("{p}", projectId), body);
const runtimes = () => runtimeProcesses(platform);

describe("a PATCH that fails", () => {
  it(
    "keeps the previous revision serving when a PATCH fails, and says why",
    async () => {
      const good = await registerDropped(platform, projectId, modelId, "served", models.v1);
      const created = await create({
        name: "kept",
        mode: "single",
        targets: [{ modelId, version: good.version }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const deploymentId = created.body.deploymentId as string;
      const path = `${deployments.replace("{p}", projectId)}/${deploymentId}`;
      const live = await waitForStatus(
        platform.api,
        projectId,
        deploymentId,
        ["HEALTHY", "FAILED"],
        READY_TIMEOUT_MS + 60_000,
      );
      expect(live.status, JSON.stringify(live.events)).toBe("HEALTHY");

      const bad = await registerDropped(platform, projectId, modelId, "padded-update", models.padded);
      const patched = await platform.api.call("PATCH", path, {
        targets: [{ modelId, version: bad.version }],
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(202);
      const after = await waitFor(
        "the update to fail",
        async () => {
          const got = await platform.api.call("GET", path);
          return got.body.events.some((e: { message: string }) =>
            e.message.startsWith("Update to revision 2 failed"),
          )
            ? got.body
            : undefined;
        },
        240_000,
        250,
      );
      expect(after.status).toBe("HEALTHY");
      expect(after.liveRevision).toBe(1);
      expect(after.failureReason).toMatch(/processor failed \(exit code 1\)/);
      expect(after.serving.map((s: { version: number }) => s.version)).toEqual([good.version]);
      expect(after.targets.map((t: { version: number }) => t.version)).toEqual([good.version]);
      const scored = await score(after.endpointUrl, {
        fields: models.expected.fields,
        rows: models.expected.rows,
      });
      expect(scored.status, JSON.stringify(scored.body)).toBe(200);
      expect(scored.body.score.map((row: string[]) => row[0])).toEqual(models.expected.v1);
      expect(runtimes()).toBe(1);
      expect((await platform.api.call("DELETE", path)).status).toBe(202);
      await waitFor(
        "the deployment to be gone",
        async () => ((await platform.api.call("GET", path)).status === 404 ? true : undefined),
        240_000,
      );
    },
    3 * READY_TIMEOUT_MS,
  );
});
