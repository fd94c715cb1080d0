import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import {
  type ApiClient,
  apiClient,
  listPages,
  REPO_ROOT,
  startTestPlatform,
  type TestPlatform,
} from "../support/platform.ts";

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

const execFileAsync = promisify(execFile);

/** A deployment record whose live slot runs `runtime`, written straight to the platform's table. */
async function putDeploymentUsing(runtime: string): Promise<void> {
  Object.assign(process.env, {
    TABLE_NAME: "byom",
    AWS_REGION: platform.config.region,
    AWS_ACCESS_KEY_ID: platform.config.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: platform.config.awsSecretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: platform.config.dynamodbEndpoint,
  });
  const { putNewDeployment } = await import("#lambdas/deployments/deployments-repository.ts");
  const now = new Date().toISOString();
  const target = {
    modelId: "mdl-00000000000000000000000000",
    modelName: "m",
    version: 1,
    experimentId: "exp-00000000000000000000000000",
    artifactId: "art-00000000000000000000000000",
    artifactType: "python/mlflow",
    objectKey: "artifacts/x",
    processor: "python-mlflow-processor",
    runtime,
    runtimeEnv: {},
    framework: null,
    inputSchema: [],
    outputSchema: null,
    weight: 100,
    role: "primary" as const,
  };
  await putNewDeployment({
    projectId: "prj-00000000000000000000000000",
    deploymentId: "dep-0000000000000000000000catalog",
    name: "uses-runtime",
    mode: "single",
    targets: [{ modelId: target.modelId, version: 1 }],
    security: { mode: "none" },
    status: "HEALTHY",
    failureReason: null,
    endpointUrl: null,
    events: [],
    revision: 1,
    liveRevision: 1,
    slots: [{ slotId: "s1", position: 0, revision: 1, target, resources: {} }],
    pendingSlots: [],
    trafficRuleArn: null,
    activeWorkflow: null,
    createdAt: now,
    updatedAt: now,
    createdBy: "local:admin",
  });
}

/** POST /v1/catalog/entries: the kind goes in the body. */
const add = (client: ApiClient, kind: string, fields: Record<string, unknown>) =>
  client.call("POST", "/v1/catalog/entries", { kind, ...fields });

async function listAll(kind: string) {
  const pages = await listPages(platform.api, `/v1/catalog/${kind}`, 2, 50);
  for (const page of pages) expect(page.status).toBe(200);
  return pages.flatMap((page) => page.body.items);
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

  it("lets installation admins add entries that reference existing ones; others get 403", async () => {
    const someone = platform.newUser("catalog-user");
    const refused = await add(someone, "artifact-types", { name: "onnx/file", readableName: "ONNX file" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/installation admins/);
    expect((await listAll("artifact-types")).map((e) => e.name)).not.toContain("onnx/file");
    const admin = platform.api;
    const artifactType = await add(admin, "artifact-types", {
      name: "onnx/file",
      readableName: "ONNX file",
    });
    expect(artifactType.status).toBe(201);
    expect(artifactType.body).toMatchObject({
      name: "onnx/file",
      builtIn: false,
      createdBy: platform.config.principal,
    });
    expect(
      (
        await add(admin, "deployable-artifact-types", {
          name: "onnx/file",
          readableName: "ONNX model",
          artifactType: "onnx/file",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await add(admin, "model-types", {
          name: "onnx/model",
          readableName: "ONNX model",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await add(admin, "artifact-processors", {
          name: "onnx-processor",
          deployableArtifactType: "onnx/file",
          modelType: "onnx/model",
          image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnx-processor:1",
        })
      ).status,
    ).toBe(201);
    const runtime = await add(admin, "runtimes", {
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
    const builtIn = await add(platform.api, "artifact-types", {
      name: "python/mlflow",
      readableName: "mine",
    });
    expect(builtIn.status).toBe(409);
    expect(builtIn.body.error.message).toMatch(/built-in/);
    await add(platform.api, "model-types", { name: "twice", readableName: "once" });
    const twice = await add(platform.api, "model-types", {
      name: "twice",
      readableName: "again",
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toMatch(/already has/);
  });

  it("refuses entries whose references are missing, naming the reference (409)", async () => {
    const processor = await add(platform.api, "artifact-processors", {
      name: "orphan",
      deployableArtifactType: "python/mlflow",
      modelType: "no/such-type",
      image: "example.com/x:1",
    });
    expect(processor.status).toBe(409);
    expect(processor.body.error.code).toBe("UNKNOWN_CATALOG_ENTRY");
    expect(processor.body.error.message).toContain("modelType 'no/such-type'");
    expect(processor.body.error.details[0].path).toBe("body.modelType");
    const runtime = await add(platform.api, "runtimes", {
      name: "orphan-runtime",
      modelType: "missing",
      image: "example.com/x:1",
    });
    expect(runtime.status).toBe(409);
    expect(runtime.body.error.details[0].path).toBe("body.modelType");
    const deployable = await add(platform.api, "deployable-artifact-types", {
      name: "orphan",
      readableName: "x",
      artifactType: "missing/type",
    });
    expect(deployable.status).toBe(409);
    // Nothing was added.
    const runtimes = await listAll("runtimes");
    expect(runtimes.map((r) => r.name)).not.toContain("orphan-runtime");
  });

  it("rejects malformed entries and unknown kinds with 400", async () => {
    const missing = await add(platform.api, "runtimes", { name: "x" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(["body.modelType", "body.image"]),
    );
    const extra = await add(platform.api, "model-types", {
      name: "x",
      readableName: "x",
      colour: "red",
    });
    expect(extra.status).toBe(400);
    const badName = await add(platform.api, "model-types", {
      name: "-x y",
      readableName: "x",
    });
    expect(badName.status).toBe(400);
    expect((await platform.api.call("GET", "/v1/catalog/widgets")).status).toBe(400);
    expect((await add(platform.api, "widgets", { name: "x" })).status).toBe(400);
  });

  it("deletes entries nothing uses: 404 unknown, 409 built-in, referenced or deployed, 403 for non-admins", async () => {
    const admin = platform.api;
    const del = (client: ApiClient, kind: string, name: string) =>
      client.call("DELETE", `/v1/catalog/${kind}?name=${encodeURIComponent(name)}`);
    expect((await add(admin, "model-types", { name: "del/model", readableName: "x" })).status).toBe(201);
    const runtime = { name: "del-runtime", modelType: "del/model", image: "example.com/r:1" };
    expect((await add(admin, "runtimes", runtime)).status).toBe(201);

    expect((await del(platform.newUser("not-admin"), "runtimes", "del-runtime")).status).toBe(403);
    expect((await del(admin, "runtimes", "no-such-runtime")).status).toBe(404);
    const builtIn = await del(admin, "runtimes", BUILTIN_CATALOG.runtimes[0]?.name ?? "");
    expect(builtIn.status).toBe(409);
    expect(builtIn.body.error.message).toMatch(/built-in/);
    const referenced = await del(admin, "model-types", "del/model");
    expect(referenced.status).toBe(409);
    expect(referenced.body.error.message).toContain("'del-runtime'");

    // A deployment that runs the runtime (written as the deploy workflow writes it: building one
    // takes a trained model and minutes, and the check reads only the record).
    await putDeploymentUsing("del-runtime");
    const deployed = await del(admin, "runtimes", "del-runtime");
    expect(deployed.status).toBe(409);
    expect(deployed.body.error.code).toBe("CATALOG_ENTRY_IN_USE");
    expect(deployed.body.error.message).toContain("dep-");

    expect((await add(admin, "runtimes", { ...runtime, name: "del-runtime-2" })).status).toBe(201);
    expect((await del(admin, "runtimes", "del-runtime-2")).status).toBe(204);
    expect((await listAll("runtimes")).map((e) => e.name)).not.toContain("del-runtime-2");
    expect((await del(admin, "runtimes", "del-runtime-2")).status).toBe(404);
  });

  it("holds at most CATALOG_KIND_LIMITS user entries per kind (409 CATALOG_LIMIT_REACHED)", async () => {
    const { CATALOG_KIND_LIMITS } = await import("#lambdas/catalog/entries.ts");
    const limit = CATALOG_KIND_LIMITS["artifact-types"];
    const existing = (await listAll("artifact-types")).filter((e) => !e.builtIn).length;
    for (let i = existing; i < limit; i++) {
      const added = await add(platform.api, "artifact-types", { name: `limit/${i}`, readableName: "x" });
      expect(added.status).toBe(201);
    }
    const over = await add(platform.api, "artifact-types", { name: "limit/over", readableName: "x" });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe("CATALOG_LIMIT_REACHED");
    expect((await listAll("artifact-types")).map((e) => e.name)).not.toContain("limit/over");
  });

  it("`npm run local:user` makes a user whose token (the last line) works, without catalog writes", async () => {
    // Asynchronously: a blocked event loop would leave the client a keep-alive socket the API closed.
    const addUser = () =>
      execFileAsync(join(REPO_ROOT, "node_modules/.bin/tsx"), ["local/add-user.ts", "alice"], {
        cwd: REPO_ROOT,
        env: { ...process.env, BYOM_HOME: platform.home },
        encoding: "utf8",
      });
    const { stdout } = await addUser();
    const token = stdout.trim().split("\n").at(-1) ?? "";
    const alice = apiClient(platform.config.apiUrl, token);
    expect((await alice.call("GET", "/v1/projects")).status).toBe(200);
    expect((await add(alice, "model-types", { name: "alice/model", readableName: "x" })).status).toBe(403);
    // Renewing replaces the token: the old one stops working at once.
    await addUser();
    expect((await alice.call("GET", "/v1/projects")).status).toBe(401);
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
