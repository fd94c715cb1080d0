import { describe, expect, it } from "vitest";
import { registerDropped, runtimeProcesses, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

// A processor size limit the padded model exceeds, and a short wait for runtimes to be ready.
useServingFixture("deploy-failures", {
  env: {
    BYOM_MAX_UNZIPPED_BYTES: String(512 * 1024),
    // Only a runtime that never becomes ready waits this long here (a deployment that must
    // become HEALTHY runs with the default in failed-update.test.ts).
    BYOM_RUNTIME_READY_TIMEOUT_SECONDS: "60",
  },
});

const deployments = `/v1/projects/{p}/deployments`;
const create = (body: Record<string, unknown>) =>
  platform.api.call("POST", deployments.replace("{p}", projectId), body);
const runtimes = () => runtimeProcesses(platform);

describe("deployments that cannot work are refused or end FAILED with nothing left behind", () => {
  it("refuses a version whose schema is unknown with 409 before anything starts", async () => {
    const { version } = await registerDropped(
      platform,
      projectId,
      modelId,
      "no-signature",
      models.noSignature,
    );
    const refused = await create({ name: "x", mode: "single", targets: [{ modelId, version }] });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("SCHEMA_UNKNOWN");
    expect(refused.body.error.message).toMatch(/input_schema/);
    expect(refused.body.error.message).toMatch(/PATCH/);
    const listed = await platform.api.call("GET", deployments.replace("{p}", projectId));
    expect(listed.body.items).toEqual([]);
  });

  it("answers 404 for an unknown version, 409 without a READY artifact, 400 for broken mode rules", async () => {
    const missing = await create({ name: "x", mode: "single", targets: [{ modelId, version: 99 }] });
    expect(missing.status).toBe(404);

    const experiment = await platform.api.call("POST", `/v1/projects/${projectId}/experiments`, {
      name: "no-artifact",
      metadata: { input_schema: { json_value: [{ name: "a", type: "float64" }] } },
    });
    const registered = await platform.api.call(
      "POST",
      `/v1/projects/${projectId}/models/${modelId}/versions`,
      {
        experimentId: experiment.body.experimentId,
      },
    );
    const bare = await create({
      name: "x",
      mode: "single",
      targets: [{ modelId, version: registered.body.version }],
    });
    expect(bare.status).toBe(409);
    expect(bare.body.error.code).toBe("NOT_DEPLOYABLE");
    expect(bare.body.error.message).toMatch(/artifacts/);

    const badWeights = await create({
      name: "x",
      mode: "ab",
      targets: [
        { modelId, version: 1, weight: 50 },
        { modelId, version: 1, weight: 40 },
      ],
    });
    expect(badWeights.status).toBe(400);
    expect(badWeights.body.error.message).toMatch(/add up to 100/);
    const oneChampion = await create({
      name: "x",
      mode: "champion_challenger",
      targets: [{ modelId, version: 1, role: "champion" }],
    });
    expect(oneChampion.status).toBe(400);
    const shortPassphrase = await create({
      name: "x",
      mode: "single",
      targets: [{ modelId, version: 1 }],
      security: { mode: "passphrase", passphrase: "short" },
    });
    expect(shortPassphrase.status).toBe(400);

    // Capacity a target cannot have: 400 before anything is written.
    const before = (await platform.api.call("GET", deployments.replace("{p}", projectId))).body.items.length;
    const sized = (resources: Record<string, unknown>) =>
      create({ name: "x", mode: "single", targets: [{ modelId, version: 1, resources }] });
    const memory = await sized({ cpu: "0.25", memoryMiB: 4096 });
    expect(memory.status).toBe(400);
    expect(memory.body.error.message).toContain(
      "body.targets.0.resources.memoryMiB: Fargate runs 0.25 vCPU with 512, 1024, 2048 MiB of memory; 4096 MiB is not one of them.",
    );
    expect((await sized({ cpu: "3" })).status).toBe(400);
    const swapped = await sized({ replicas: { min: 3, max: 2 } });
    expect(swapped.status).toBe(400);
    expect(swapped.body.error.message).toMatch(/replicas.min \(3\) is above replicas.max \(2\)/);
    const over = await sized({ replicas: { max: 11 } });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/limit of 10 .*byom:maxReplicas/);
    // More weighted targets than one ALB forward action takes: 409 with the numbers.
    const wide = await create({
      name: "x",
      mode: "ab",
      targets: [20, 20, 20, 20, 10, 10].map((weight) => ({ modelId, version: 1, weight })),
    });
    expect(wide.status).toBe(409);
    expect(wide.body.error.message).toMatch(/at most 5 target groups.*between 6 targets/);
    expect((await platform.api.call("GET", deployments.replace("{p}", projectId))).body.items.length).toBe(
      before,
    );
  });

  it("lets viewers read deployments but not change them, and hides them from non-members", async () => {
    const viewer = platform.newUser("deploy-viewer");
    const stranger = platform.newUser("deploy-stranger");
    const added = await platform.api.call("PUT", `/v1/projects/${projectId}/members`, {
      principal: viewer.principal,
      role: "viewer",
    });
    expect(added.status).toBe(200);
    const path = deployments.replace("{p}", projectId);
    expect((await viewer.call("GET", path)).status).toBe(200);
    const refused = await viewer.call("POST", path, {
      name: "x",
      mode: "single",
      targets: [{ modelId, version: 1 }],
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/editor/);
    expect((await stranger.call("GET", path)).status).toBe(404);
    expect((await stranger.call("DELETE", `${path}/dep-0000000000abcdefghjkmnpqrs`)).status).toBe(404);
  });

  it("ends FAILED with the processor's own reason when the processor exits non-zero", async () => {
    const { version } = await registerDropped(platform, projectId, modelId, "padded", models.padded);
    const created = await create({ name: "too-big", mode: "single", targets: [{ modelId, version }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const failed = await waitForStatus(platform.api, projectId, created.body.deploymentId, [
      "FAILED",
      "HEALTHY",
    ]);
    expect(failed.status).toBe("FAILED");
    expect(failed.failureReason).toMatch(/processor failed \(exit code 1\)/);
    expect(failed.failureReason).toMatch(/unzipped|limit|bytes/i);
    expect(failed.endpointUrl).toBeNull();
    expect(runtimes()).toBe(0);
  }, 300_000);

  it("ends FAILED when the runtime never becomes ready, and removes the runtime it started", async () => {
    const { version } = await registerDropped(
      platform,
      projectId,
      modelId,
      "broken-loader",
      models.brokenLoader,
    );
    const created = await create({ name: "never-ready", mode: "single", targets: [{ modelId, version }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const failed = await waitForStatus(platform.api, projectId, created.body.deploymentId, [
      "FAILED",
      "HEALTHY",
    ]);
    expect(failed.status).toBe("FAILED");
    expect(failed.failureReason).toMatch(/did not become ready within 60 s/);
    expect(failed.events.map((e: { status: string }) => e.status)).toEqual(
      expect.arrayContaining(["PROCESSING", "STARTING", "FAILED"]),
    );
    expect(runtimes()).toBe(0);
    const scored = await fetch(`${platform.config.scoringUrl}/${created.body.deploymentId}/model/score`, {
      method: "POST",
      body: "{}",
    });
    expect(scored.status).toBe(404);

    const deleted = await platform.api.call(
      "DELETE",
      `/v1/projects/${projectId}/deployments/${created.body.deploymentId}`,
    );
    expect(deleted.status).toBe(202);
  }, 300_000);
});
