import { describe, expect, it } from "vitest";
import { score, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

/**
 * Per-deployment runtime settings (a target's `env`) and local mode's refusal of image-only catalog
 * entries, through the real local platform with a real scikit-learn classifier.
 */
useServingFixture("runtime-settings", {
  env: { BYOM_RUNTIME_READY_TIMEOUT_SECONDS: "120" },
  versions: ["v1"],
});

const deployments = () => `/v1/projects/${projectId}/deployments`;
const create = (target: Record<string, unknown>, name = "settings") =>
  platform.api.call("POST", deployments(), {
    name,
    mode: "single",
    targets: [{ modelId, version: 1, ...target }],
  });
const listed = async () => (await platform.api.call("GET", deployments())).body.items as unknown[];

describe("a target's runtime settings", () => {
  it("refuses unknown names and bad values with 400 naming them, and creates nothing", async () => {
    const unknown = await create({ env: { BYOM_NOT_A_SETTING: "1" } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("BYOM_NOT_A_SETTING");
    expect(unknown.body.error.message).toContain("BYOM_PREDICT_PROBA");
    expect(unknown.body.error.details[0].path).toBe("body.targets.0.env.BYOM_NOT_A_SETTING");

    const workers = await create({ env: { BYOM_WORKERS: "99" } });
    expect(workers.status).toBe(400);
    expect(workers.body.error.message).toContain("'99'");
    expect(workers.body.error.message).toContain("BYOM_WORKERS");

    const proba = await create({ env: { BYOM_PREDICT_PROBA: "yes" } });
    expect(proba.status).toBe(400);
    expect(proba.body.error.message).toContain("true, false");
    expect(await listed()).toEqual([]);
  });

  it("reach the runtime: BYOM_PREDICT_PROBA turns the label into one field per class", async () => {
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const plain = await create({}, "plain");
    const proba = await create({ env: { BYOM_PREDICT_PROBA: "true", BYOM_WORKERS: "1" } }, "proba");
    expect(proba.status, JSON.stringify(proba.body)).toBe(201);
    expect(proba.body.targets[0].env).toEqual({ BYOM_PREDICT_PROBA: "true", BYOM_WORKERS: "1" });
    const plainLive = await waitForStatus(
      platform.api,
      projectId,
      plain.body.deploymentId,
      ["HEALTHY", "FAILED"],
      300_000,
    );
    const probaLive = await waitForStatus(
      platform.api,
      projectId,
      proba.body.deploymentId,
      ["HEALTHY", "FAILED"],
      300_000,
    );
    expect(plainLive.status, JSON.stringify(plainLive)).toBe("HEALTHY");
    expect(probaLive.status, JSON.stringify(probaLive)).toBe("HEALTHY");

    const labels = await score(plainLive.endpointUrl, request);
    expect(labels.status).toBe(200);
    expect(labels.body.fields).toHaveLength(1);
    expect(labels.body.score.map((row: string[]) => row[0])).toEqual(models.expected.v1);

    const perClass = await score(probaLive.endpointUrl, request);
    expect(perClass.status).toBe(200);
    expect(perClass.body.fields).toHaveLength(2);
    expect(perClass.body.fields.map((f: string) => f.split(".").at(-1))).toEqual(["0", "1"]);
    for (const [i, row] of (perClass.body.score as string[][]).entries()) {
      const [p0, p1] = row.map(Number);
      expect((p0 ?? 0) + (p1 ?? 0)).toBeCloseTo(1, 6);
      // The class with the larger probability is the label the plain deployment answers.
      expect(String((p1 ?? 0) > (p0 ?? 0) ? 1 : 0)).toBe(models.expected.v1[i]);
    }
  }, 700_000);
});

describe("an image-only catalog entry in local mode", () => {
  it("is refused with 409 CONTAINER_ENGINE_REQUIRED naming the entry, on create and on PATCH, changing nothing", async () => {
    const image = "registry.example.com/acme/sklearn-scorer:1.4";
    const entry = await platform.api.call("POST", "/v1/catalog/entries", {
      kind: "runtimes",
      name: "acme-sklearn-runtime",
      modelType: "python/ready-model",
      image,
      frameworks: ["sklearn"],
      settableEnv: [
        { name: "ACME_TOKEN", description: "the licence token", pattern: "[a-z0-9]{8,}", secret: true },
      ],
    });
    expect(entry.status, JSON.stringify(entry.body)).toBe(201);
    const before = await listed();

    const refused = await create(
      { runtime: "acme-sklearn-runtime", env: { ACME_TOKEN: "abcdefgh1" } },
      "acme",
    );
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CONTAINER_ENGINE_REQUIRED");
    expect(refused.body.error.message).toContain("acme-sklearn-runtime");
    expect(refused.body.error.message).toContain(image);
    expect(refused.body.error.message).toMatch(/container engine/);
    expect(refused.body.error.message).toMatch(/AWS installation/);
    expect(await listed()).toEqual(before);

    const live = (before as Array<{ deploymentId: string; revision: number; targets: unknown }>)[0];
    if (!live) throw new Error("the settings test leaves deployments to PATCH");
    const patch = await platform.api.call("PATCH", `${deployments()}/${live.deploymentId}`, {
      targets: [{ modelId, version: 1, runtime: "acme-sklearn-runtime" }],
    });
    expect(patch.status).toBe(409);
    expect(patch.body.error.code).toBe("CONTAINER_ENGINE_REQUIRED");
    const after = await platform.api.call("GET", `${deployments()}/${live.deploymentId}`);
    expect(after.body.revision).toBe(live.revision);
    expect(after.body.targets).toEqual(live.targets);
  });

  it("is refused the same way for an image-only processor, naming it and not the built-in runtime", async () => {
    const image = "registry.example.com/acme/mlflow-unpacker:2";
    const entry = await platform.api.call("POST", "/v1/catalog/entries", {
      kind: "artifact-processors",
      name: "acme-mlflow-processor",
      deployableArtifactType: "python/mlflow",
      modelType: "python/ready-model",
      image,
    });
    expect(entry.status, JSON.stringify(entry.body)).toBe(201);
    const before = await listed();
    const refused = await create({ processor: "acme-mlflow-processor" }, "acme-processor");
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CONTAINER_ENGINE_REQUIRED");
    expect(refused.body.error.message).toContain(`processor 'acme-mlflow-processor' (image ${image})`);
    expect(refused.body.error.message).not.toContain("runtime 'python-tabular-runtime'");
    expect(refused.body.error.details[0].path).toBe("body.targets.0.processor");
    expect(await listed()).toEqual(before);
  });

  it("refuses a settable declaration without a pattern or allowed values, or with a broken pattern", async () => {
    for (const settable of [
      { name: "X", description: "no rule" },
      { name: "X", description: "broken", pattern: "(" },
    ]) {
      const refused = await platform.api.call("POST", "/v1/catalog/entries", {
        kind: "runtimes",
        name: "acme-broken-runtime",
        modelType: "python/ready-model",
        image: "registry.example.com/acme/x:1",
        settableEnv: [settable],
      });
      expect(refused.status).toBe(400);
    }
    const runtimes = await platform.api.call("GET", "/v1/catalog/runtimes");
    expect(JSON.stringify(runtimes.body)).not.toContain("acme-broken-runtime");
  });
});
