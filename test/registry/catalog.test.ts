import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

async function listAll(kind: string) {
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: any = await platform.api.call(
      "GET",
      `/v1/catalog/${kind}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return items;
}

describe("catalog", () => {
  it("is seeded with every built-in entry, marked builtIn, paged over more than a page", async () => {
    const expected = {
      "artifact-types": BUILTIN_CATALOG.artifactTypes,
      "deployable-artifact-types": BUILTIN_CATALOG.deployableArtifactTypes,
      "artifact-processors": BUILTIN_CATALOG.artifactProcessors,
      "model-types": BUILTIN_CATALOG.modelTypes,
      runtimes: BUILTIN_CATALOG.runtimes,
    };
    for (const [kind, entries] of Object.entries(expected)) {
      const listed = await listAll(kind);
      for (const entry of entries) {
        expect(listed).toContainEqual({
          ...entry,
          builtIn: true,
          createdAt: expect.any(String),
          createdBy: "byom",
        });
      }
    }
  });

  it("lets any authenticated caller add entries that reference existing ones", async () => {
    const someone = platform.newUser("catalog-user");
    const artifactType = await someone.call("POST", "/v1/catalog/artifact-types", {
      name: "onnx/file",
      readableName: "ONNX file",
    });
    expect(artifactType.status).toBe(201);
    expect(artifactType.body).toMatchObject({
      name: "onnx/file",
      builtIn: false,
      createdBy: someone.principal,
    });
    expect(
      (
        await someone.call("POST", "/v1/catalog/deployable-artifact-types", {
          name: "onnx/file",
          readableName: "ONNX model",
          artifactType: "onnx/file",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await someone.call("POST", "/v1/catalog/model-types", {
          name: "onnx/model",
          readableName: "ONNX model",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await someone.call("POST", "/v1/catalog/artifact-processors", {
          name: "onnx-processor",
          deployableArtifactType: "onnx/file",
          modelType: "onnx/model",
          image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnx-processor:1",
        })
      ).status,
    ).toBe(201);
    const runtime = await someone.call("POST", "/v1/catalog/runtimes", {
      name: "onnx-runtime",
      modelType: "onnx/model",
      image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnx-runtime:1",
      env: { OMP_NUM_THREADS: "1", constructor: "x", toString: "y" },
      frameworks: ["onnx"],
    });
    expect(runtime.status).toBe(201);
    expect(runtime.body).toMatchObject({
      env: { OMP_NUM_THREADS: "1", constructor: "x", toString: "y" },
      frameworks: ["onnx"],
      builtIn: false,
    });

    const compositions = await someone.call("GET", "/v1/catalog/compositions?artifactType=onnx%2Ffile");
    expect(compositions.status).toBe(200);
    expect(compositions.body).toEqual({
      artifactType: "onnx/file",
      items: [
        {
          deployableArtifactType: "onnx/file",
          processor: "onnx-processor",
          modelType: "onnx/model",
          runtime: "onnx-runtime",
          frameworks: ["onnx"],
        },
      ],
    });
  });

  it("refuses to overwrite a built-in or an existing entry (409)", async () => {
    const builtIn = await platform.api.call("POST", "/v1/catalog/artifact-types", {
      name: "python/mlflow",
      readableName: "mine",
    });
    expect(builtIn.status).toBe(409);
    expect(builtIn.body.error.message).toMatch(/built-in/);
    await platform.api.call("POST", "/v1/catalog/model-types", { name: "twice", readableName: "once" });
    const twice = await platform.api.call("POST", "/v1/catalog/model-types", {
      name: "twice",
      readableName: "again",
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toMatch(/already has/);
  });

  it("refuses entries whose references are missing, naming the reference (400)", async () => {
    const processor = await platform.api.call("POST", "/v1/catalog/artifact-processors", {
      name: "orphan",
      deployableArtifactType: "python/mlflow",
      modelType: "no/such-type",
      image: "example.com/x:1",
    });
    expect(processor.status).toBe(400);
    expect(processor.body.error.code).toBe("VALIDATION_FAILED");
    expect(processor.body.error.message).toContain("modelType 'no/such-type'");
    expect(processor.body.error.details[0].path).toBe("body.modelType");
    const runtime = await platform.api.call("POST", "/v1/catalog/runtimes", {
      name: "orphan-runtime",
      modelType: "missing",
      image: "example.com/x:1",
    });
    expect(runtime.status).toBe(400);
    expect(runtime.body.error.details[0].path).toBe("body.modelType");
    const deployable = await platform.api.call("POST", "/v1/catalog/deployable-artifact-types", {
      name: "orphan",
      readableName: "x",
      artifactType: "missing/type",
    });
    expect(deployable.status).toBe(400);
    // Nothing was added.
    const runtimes = await listAll("runtimes");
    expect(runtimes.map((r) => r.name)).not.toContain("orphan-runtime");
  });

  it("rejects malformed entries and unknown kinds with 400", async () => {
    const missing = await platform.api.call("POST", "/v1/catalog/runtimes", { name: "x" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(["body.modelType", "body.image"]),
    );
    const extra = await platform.api.call("POST", "/v1/catalog/model-types", {
      name: "x",
      readableName: "x",
      colour: "red",
    });
    expect(extra.status).toBe(400);
    const badName = await platform.api.call("POST", "/v1/catalog/model-types", {
      name: "-x y",
      readableName: "x",
    });
    expect(badName.status).toBe(400);
    expect((await platform.api.call("GET", "/v1/catalog/widgets")).status).toBe(400);
    expect((await platform.api.call("POST", "/v1/catalog/widgets", { name: "x" })).status).toBe(400);
  });

  it("walks the built-in compositions and filters them by framework", async () => {
    const all = await platform.api.call("GET", "/v1/catalog/compositions?artifactType=python/mlflow");
    expect(all.status).toBe(200);
    expect(all.body.items.map((c: { runtime: string }) => c.runtime)).toEqual(
      BUILTIN_CATALOG.runtimes.filter((r) => r.modelType === "python/ready-model").map((r) => r.name),
    );
    expect(all.body.items[0]).toMatchObject({
      deployableArtifactType: "python/mlflow",
      processor: "python-mlflow-processor",
      modelType: "python/ready-model",
    });
    const torch = await platform.api.call(
      "GET",
      "/v1/catalog/compositions?artifactType=python/pickle&framework=pytorch",
    );
    expect(torch.body.items).toEqual([
      expect.objectContaining({ processor: "python-pickle-processor", runtime: "python-pytorch-runtime" }),
    ]);
    const mojo = await platform.api.call("GET", "/v1/catalog/compositions?artifactType=h2o3/mojo");
    expect(mojo.body.items).toEqual([
      {
        deployableArtifactType: "h2o3/mojo",
        processor: "h2o3-mojo-processor",
        modelType: "h2o3/ready-mojo",
        runtime: "h2o3-mojo-runtime",
        frameworks: ["h2o3"],
      },
    ]);
    // A Driverless AI pipeline needs H2O's licensed runtime: stored, never deployable.
    const pipeline = await platform.api.call(
      "GET",
      "/v1/catalog/compositions?artifactType=dai/mojo_pipeline",
    );
    expect(pipeline.body.items).toEqual([]);
    const unknown = await platform.api.call("GET", "/v1/catalog/compositions?artifactType=nope");
    expect(unknown.status).toBe(404);
    expect((await platform.api.call("GET", "/v1/catalog/compositions")).status).toBe(400);
  });

  it("answers 401 without a caller identity", async () => {
    expect((await fetch(`${platform.config.apiUrl}/v1/catalog/runtimes`)).status).toBe(401);
    expect((await fetch(`${platform.config.apiUrl}/v1/catalog/compositions?artifactType=x`)).status).toBe(
      401,
    );
  });
});
