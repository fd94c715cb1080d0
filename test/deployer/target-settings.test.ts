import { afterEach, describe, expect, it } from "vitest";
import type { Composition, RegistryReader } from "#lambdas/deployments/target-resolution.ts";
import { resolveTargets } from "#lambdas/deployments/target-resolution.ts";
import { errorResponse } from "#lambdas/shared/http/error-response.ts";

// The rules resolveTargets applies to a target's `env` and to image-only entries, against a
// registry that answers as the real one does for a deployable version (the platform tests in
// runtime-settings.test.ts go through the real one).
const composition: Composition = {
  processor: "python-mlflow-processor",
  runtime: "acme-runtime",
  runtimeEnv: { ACME_MODE: "fast", ACME_LEVEL: "1" },
  settableEnv: [
    { name: "ACME_LEVEL", description: "a level", pattern: "[1-3]" },
    { name: "ACME_TOKEN", description: "a token", pattern: "[a-z0-9]{8,}", secret: true },
  ],
  builtIn: { processor: true, runtime: false },
  images: { processor: "mlflow-processor", runtime: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme:1" },
};
const reader: RegistryReader = {
  modelVersion: async () => ({
    modelName: "churn",
    experimentId: "exp-1",
    metadata: { input_schema: { json_value: [{ name: "a", type: "float64" }] } },
  }),
  readyArtifact: async () => ({
    ready: { artifactId: "art-1", type: "python/mlflow", objectKey: "k", framework: "sklearn" },
    notReady: [],
  }),
  composition: async () => composition,
  parseSchema: (_key, value) => value as never,
};
const resolve = (env?: Record<string, string>) =>
  resolveTargets(reader, "prj-x", "single", [{ modelId: "mdl-1", version: 1, env }]);

afterEach(() => {
  delete process.env.CONTAINER_ENGINE;
});

describe("a target's env", () => {
  it("is merged over the entry's env, and its secret names are recorded", async () => {
    const [target] = await resolve({ ACME_LEVEL: "3", ACME_TOKEN: "abcdefgh9" });
    expect(target?.runtimeEnv).toEqual({ ACME_MODE: "fast", ACME_LEVEL: "3", ACME_TOKEN: "abcdefgh9" });
    expect(target?.secretEnv).toEqual(["ACME_TOKEN"]);
  });

  it("is refused with 400 for a name the entry does not declare, even one of the entry's env", async () => {
    const refused = await resolve({ ACME_MODE: "slow" }).catch((e) => e);
    const response = errorResponse(refused);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).error.message).toMatch(
      /does not let a deployment set 'ACME_MODE'.*ACME_LEVEL, ACME_TOKEN/,
    );
  });

  it("is refused with 400 for a value off the pattern, never echoing a secret value", async () => {
    const level = errorResponse(await resolve({ ACME_LEVEL: "12" }).catch((e) => e));
    expect(level.statusCode).toBe(400);
    expect(level.body).toContain("'12'");
    const token = errorResponse(await resolve({ ACME_TOKEN: "SHORT-Secret" }).catch((e) => e));
    expect(token.statusCode).toBe(400);
    expect(token.body).toContain("ACME_TOKEN");
    expect(token.body).not.toContain("SHORT-Secret");
  });
});

describe("an image-only entry", () => {
  it("resolves where a container engine runs it (AWS: the setting is unset)", async () => {
    const [target] = await resolve();
    expect(target?.runtime).toBe("acme-runtime");
  });

  it("is refused with 409 CONTAINER_ENGINE_REQUIRED where the platform says there is none", async () => {
    process.env.CONTAINER_ENGINE = "none";
    const response = errorResponse(await resolve().catch((e) => e));
    expect(response.statusCode).toBe(409);
    const { error } = JSON.parse(response.body);
    expect(error.code).toBe("CONTAINER_ENGINE_REQUIRED");
    expect(error.message).toContain("runtime 'acme-runtime'");
    expect(error.message).not.toContain("processor 'python-mlflow-processor'");
    expect(error.details[0].path).toBe("body.targets.0.runtime");
  });
});
