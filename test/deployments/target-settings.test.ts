import { afterEach, describe, expect, it } from "vitest";
import type { Composition, RegistryReader } from "#lambdas/deployments/target-resolution.ts";
import { resolveTargets } from "#lambdas/deployments/target-resolution.ts";
import { errorResponse } from "#lambdas/shared/http/error-response.ts";

// The rules resolveTargets applies to a target's `env` and to image-only entries, against a
// registry that answers as the real one does for a deployable version (the platform tests in
// runtime-settings.test.ts go through the real one).
const ACME_REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/byom/images/ghcr.io/acme/runtime";
let composition: Composition = {
  processor: "python-mlflow-processor",
  runtime: "acme-runtime",
  runtimeEnv: { ACME_MODE: "fast", ACME_LEVEL: "1" },
  settableEnv: [
    { name: "ACME_LEVEL", description: "a level", pattern: "[1-3]" },
    { name: "ACME_TOKEN", description: "a token", pattern: "[a-z0-9]{8,}", secret: true },
  ],
  builtIn: { processor: true, runtime: false },
  images: { processor: "mlflow-processor", runtime: "ghcr.io/acme/runtime:1" },
  pinned: {
    processor: { image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:mlflow", status: "READY" },
    runtime: { image: `${ACME_REPO}@sha256:${"a".repeat(64)}`, status: "READY" },
  },
  processorEnv: {},
  healthPath: "/model/schema",
  capabilities: ["columnar"],
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
const resolve = (env?: Record<string, string>, securityMode: "none" | "passphrase" = "none") =>
  resolveTargets(reader, "prj-x", "single", [{ modelId: "mdl-1", version: 1, env }], { securityMode });

const original = composition;
afterEach(() => {
  delete process.env.CONTAINER_ENGINE;
  composition = original;
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
  it("resolves where a container engine runs it (AWS: the setting is unset), naming the pinned images", async () => {
    const [target] = await resolve();
    expect(target?.runtime).toBe("acme-runtime");
    expect(target?.images).toEqual({
      processor: composition.pinned.processor.image,
      runtime: `${ACME_REPO}@sha256:${"a".repeat(64)}`,
    });
    expect(target?.healthPath).toBe("/model/schema");
  });

  it("carries the entry's own execution role to the target; built-ins have none (the installation's)", async () => {
    const role = "arn:aws:iam::123456789012:role/byom/images/byom-image-acme";
    composition = {
      ...original,
      pinned: { ...original.pinned, runtime: { ...original.pinned.runtime, executionRoleArn: role } },
    };
    try {
      const [target] = await resolve();
      expect(target?.executionRoles).toEqual({ runtime: role });
    } finally {
      composition = original;
    }
    expect((await resolve())[0]?.executionRoles).toBeUndefined();
  });

  it("is refused with 409 IMAGE_NOT_READY while its image is copied or after the copy failed", async () => {
    for (const [status, reason, text] of [
      ["IMPORTING", undefined, /still being copied/],
      ["FAILED", "HTTP 404 for the manifest", /not in this account's ECR: HTTP 404 for the manifest/],
    ] as const) {
      composition = {
        ...original,
        pinned: { ...original.pinned, runtime: { image: "ghcr.io/acme/runtime:1", status, reason } },
      };
      const response = errorResponse(await resolve().catch((e) => e));
      expect(response.statusCode).toBe(409);
      const { error } = JSON.parse(response.body);
      expect(error.code).toBe("IMAGE_NOT_READY");
      expect(error.message).toMatch(text);
    }
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

describe("capabilities", () => {
  it("a passphrase on a runtime without the passphrase capability is 409 naming it, never served open", async () => {
    const response = errorResponse(await resolve(undefined, "passphrase").catch((e) => e));
    expect(response.statusCode).toBe(409);
    const { error } = JSON.parse(response.body);
    expect(error.code).toBe("MISSING_CAPABILITY");
    expect(error.message).toMatch(/Runtime 'acme-runtime' .* lacks the 'passphrase' capability/);
    expect(error.details[0]).toMatchObject({ capability: "passphrase", path: "body.targets.0.runtime" });
  });

  it("a passphrase on a runtime that declares it resolves", async () => {
    composition = { ...original, capabilities: ["passphrase"] };
    const [target] = await resolve(undefined, "passphrase");
    expect(target?.runtime).toBe("acme-runtime");
  });

  it("a champion needs shadow: the MOJO runtime's entry lacks it", async () => {
    const { BUILTIN_CATALOG } = await import("#lambdas/catalog/builtin.ts");
    const mojo = BUILTIN_CATALOG.runtimes.find((r) => r.name === "h2o3-mojo-runtime");
    composition = { ...original, runtime: "h2o3-mojo-runtime", capabilities: mojo?.capabilities ?? [] };
    const response = errorResponse(
      await resolveTargets(reader, "prj-x", "champion_challenger", [
        { modelId: "mdl-1", version: 1, role: "champion" },
        { modelId: "mdl-1", version: 1, role: "challenger" },
      ]).catch((e) => e),
    );
    expect(response.statusCode).toBe(409);
    const { error } = JSON.parse(response.body);
    expect(error.code).toBe("MISSING_CAPABILITY");
    expect(error.details).toEqual([
      expect.objectContaining({ capability: "shadow", path: "body.targets.0.runtime" }),
    ]);
  });

  it("capture on a runtime that cannot capture (the MOJO one) is 409, never a silently empty capture", async () => {
    const { BUILTIN_CATALOG } = await import("#lambdas/catalog/builtin.ts");
    const runtime = (name: string) => BUILTIN_CATALOG.runtimes.find((r) => r.name === name);
    const mojo = runtime("h2o3-mojo-runtime");
    composition = { ...original, runtime: "h2o3-mojo-runtime", capabilities: mojo?.capabilities ?? [] };
    const asked = [{ modelId: "mdl-1", version: 1 }];
    const response = errorResponse(
      await resolveTargets(reader, "prj-x", "single", asked, { securityMode: "none", capture: true }).catch(
        (e) => e,
      ),
    );
    expect(response.statusCode).toBe(409);
    const { error } = JSON.parse(response.body);
    expect(error.code).toBe("MISSING_CAPABILITY");
    expect(error.details).toEqual([expect.objectContaining({ capability: "capture" })]);
    // Without capture the same target resolves, and the built-in Python runtimes declare it.
    await expect(
      resolveTargets(reader, "prj-x", "single", asked, { securityMode: "none" }),
    ).resolves.toHaveLength(1);
    expect(runtime("python-tabular-runtime")?.capabilities).toContain("capture");
  });
});
