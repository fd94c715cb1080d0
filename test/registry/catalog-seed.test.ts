import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { startTestTable, type TestTable } from "../support/dynamo-table.ts";

// The custom resource handler against a DynamoDB emulator of its own, as CloudFormation would call it.
let table: TestTable;
let handler: typeof import("#lambdas/catalog/handlers/seed-catalog.ts").handler;
let repository: typeof import("#lambdas/catalog/catalog-repository.ts");

beforeAll(async () => {
  table = await startTestTable("seed-test");
  // Imported only now: the modules read their environment when they load.
  handler = (await import("#lambdas/catalog/handlers/seed-catalog.ts")).handler;
  repository = await import("#lambdas/catalog/catalog-repository.ts");
});
afterAll(async () => {
  await table?.stop();
});

const event = (
  requestType: "Create" | "Update" | "Delete",
  imageUris: Record<string, string>,
): CloudFormationCustomResourceEvent =>
  ({
    RequestType: requestType,
    ServiceToken: "arn:aws:lambda:eu-west-1:123456789012:function:provider",
    ResponseURL: "https://example.com",
    StackId: "arn:aws:cloudformation:eu-west-1:123456789012:stack/byom/1",
    RequestId: "1",
    LogicalResourceId: "CatalogSeed",
    ResourceType: "Custom::ByomCatalogSeed",
    ResourceProperties: { ServiceToken: "x", ImageUris: imageUris },
    ...(requestType === "Create"
      ? {}
      : { PhysicalResourceId: "byom-builtin-catalog", OldResourceProperties: {} }),
  }) as CloudFormationCustomResourceEvent;

const builtInCount = Object.values(BUILTIN_CATALOG).reduce((n, entries) => n + entries.length, 0);

describe("catalog seeding custom resource", () => {
  it("seeds every built-in on Create, naming the images this deployment built", async () => {
    const uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-assets:abc";
    const response = await handler(event("Create", { "tabular-runtime": uri }));
    expect(response).toEqual({ PhysicalResourceId: "byom-builtin-catalog", Data: { Entries: builtInCount } });
    const runtimes = await repository.listAllEntries("runtimes");
    expect(runtimes.map((r) => r.entry.name)).toEqual(BUILTIN_CATALOG.runtimes.map((r) => r.name));
    expect(runtimes[0]?.entry).toMatchObject({ name: "python-tabular-runtime", image: uri });
    expect(runtimes[1]?.entry).toMatchObject({ image: "pytorch-runtime" });
    expect(runtimes.every((r) => r.builtIn)).toBe(true);
  });

  it("is idempotent on Update: same entries, first createdAt kept, new image URIs applied", async () => {
    const before = await repository.listAllEntries("artifact-processors");
    await handler(event("Update", { "mlflow-processor": "example.com/mlflow-processor:2" }));
    await handler(event("Update", { "mlflow-processor": "example.com/mlflow-processor:2" }));
    const after = await repository.listAllEntries("artifact-processors");
    expect(after).toHaveLength(BUILTIN_CATALOG.artifactProcessors.length);
    expect(after.map((r) => r.createdAt)).toEqual(before.map((r) => r.createdAt));
    expect(after[0]?.entry).toMatchObject({
      name: "python-mlflow-processor",
      image: "example.com/mlflow-processor:2",
    });
  });

  it("leaves the catalog alone on Delete", async () => {
    const response = await handler(event("Delete", {}));
    expect(response.PhysicalResourceId).toBe("byom-builtin-catalog");
    expect(await repository.listAllEntries("model-types")).toHaveLength(BUILTIN_CATALOG.modelTypes.length);
  });
});

describe("resolveComposition (the deployer's choice of processor and runtime)", () => {
  it("picks the first built-in runtime that serves the framework", async () => {
    const { resolveComposition } = await import("#lambdas/catalog/catalog.ts");
    const sklearn = await resolveComposition("python/mlflow", "sklearn");
    expect(sklearn.processor.name).toBe("python-mlflow-processor");
    expect(sklearn.runtime.name).toBe("python-tabular-runtime");
    expect(sklearn.modelType).toBe("python/ready-model");
    expect((await resolveComposition("python/pickle", "keras")).runtime.name).toBe(
      "python-tensorflow-runtime",
    );
    expect((await resolveComposition("python/mlflow")).runtime.name).toBe("python-tabular-runtime");
  });

  it("honours a requested runtime or processor", async () => {
    const { resolveComposition } = await import("#lambdas/catalog/catalog.ts");
    const chosen = await resolveComposition("python/mlflow", "python_function", {
      runtime: "python-pytorch-runtime",
    });
    expect(chosen.runtime.name).toBe("python-pytorch-runtime");
    expect(
      (await resolveComposition("python/pickle", undefined, { processor: "python-pickle-processor" }))
        .processor.name,
    ).toBe("python-pickle-processor");
  });

  it("explains what is available when nothing fits", async () => {
    const { resolveComposition, NoCompositionError } = await import("#lambdas/catalog/catalog.ts");
    await expect(
      resolveComposition("python/mlflow", "sklearn", { runtime: "python-pytorch-runtime" }),
    ).rejects.toThrow(
      /runtime 'python-pytorch-runtime' and framework 'sklearn'.*Available: python-mlflow-processor → python-tabular-runtime/,
    );
    await expect(resolveComposition("dai/mojo_pipeline")).rejects.toBeInstanceOf(NoCompositionError);
    await expect(resolveComposition("h2o3/mojo", "h2o3")).resolves.toMatchObject({
      processor: { name: "h2o3-mojo-processor" },
      runtime: { name: "h2o3-mojo-runtime" },
    });
    await expect(resolveComposition("python/mlflow", "h2o")).rejects.toThrow(/POST \/v1\/catalog\/entries/);
  });
});
