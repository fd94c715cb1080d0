import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Route } from "#lambdas/shared/http/route.ts";
import { type ApiResponse, startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let document: any;
let ajv: Ajv2020;
const checked = new Set<string>();
let routes: readonly Route[];

beforeAll(async () => {
  platform = await startTestPlatform();
  // Some route modules reach modules that read their environment at load; the values are never used here.
  process.env.TABLE_NAME ??= "openapi-test";
  process.env.BUCKET_NAME ??= "openapi-test";
  routes = (await import("#lambdas/routes.ts")).ROUTES;
  const response = await fetch(`${platform.config.apiUrl}/v1/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ ...document, $id: "openapi.json" });
});
afterAll(async () => {
  await platform?.stop();
});

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/**
 * Checks a real response against the document: the operation must declare the status, and the body
 * must validate against the declared response schema.
 */
function conforms(method: string, template: string, response: ApiResponse): void {
  const operation = document.paths?.[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is not in the document`).toBeDefined();
  const declared = operation.responses?.[String(response.status)];
  expect(declared, `${method} ${template} does not declare status ${response.status}`).toBeDefined();
  checked.add(`${method} ${template} ${response.status}`);
  const content = declared.content?.["application/json"];
  if (!content) {
    expect(response.body ?? "").toBe("");
    return;
  }
  const ref = `openapi.json#/${pointer("paths", template, method.toLowerCase(), "responses", String(response.status), "content", "application/json", "schema")}`;
  const validate = ajv.getSchema(ref);
  expect(validate, `no schema at ${ref}`).toBeDefined();
  const valid = validate?.(response.body);
  expect(
    valid,
    `${method} ${template} ${response.status}: ${ajv.errorsText(validate?.errors)}\n${JSON.stringify(response.body)}`,
  ).toBe(true);
}

async function call(method: string, template: string, path: string, body?: unknown, client = platform.api) {
  const response = await client.call(method, path, body);
  conforms(method, template, response);
  return response;
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists every route", () => {
    expect(document.openapi).toBe("3.1.0");
    for (const route of routes) {
      expect(document.paths[route.path]?.[route.method.toLowerCase()]?.operationId).toBe(route.operationId);
    }
  });

  it("describes the real responses of projects, experiments, models and the catalog", async () => {
    const outsider = platform.newUser("openapi-outsider");
    const project = await call("POST", "/v1/projects", "/v1/projects", { name: "openapi", description: "d" });
    const p = project.body.projectId;
    await call("GET", "/v1/projects", "/v1/projects?limit=5");
    await call("GET", "/v1/projects/{projectId}", `/v1/projects/${p}`);
    await call("GET", "/v1/projects/{projectId}", `/v1/projects/${p}`, undefined, outsider);
    await call("POST", "/v1/projects", "/v1/projects", { name: "" });
    await call("GET", "/v1/projects/{projectId}/members", `/v1/projects/${p}/members`);
    await call("PUT", "/v1/projects/{projectId}/members", `/v1/projects/${p}/members`, {
      principal: "local:openapi-viewer",
      role: "viewer",
    });

    const experiments = "/v1/projects/{projectId}/experiments";
    const experiment = "/v1/projects/{projectId}/experiments/{experimentId}";
    const created = await call("POST", experiments, `/v1/projects/${p}/experiments`, {
      name: "e",
      metadata: {
        s: { string_value: "x" },
        i: { int64_value: 42 },
        d: { double_value: 0.5 },
        b: { bool_value: false },
        j: { json_value: { nested: [1, "two", null] } },
        t: { timestamp_value: "2026-11-27T12:00:00Z" },
        input_schema: { json_value: [{ name: "x", type: "float64" }] },
      },
    });
    const e = created.body.experimentId;
    await call("GET", experiments, `/v1/projects/${p}/experiments?limit=1`);
    await call("GET", experiment, `/v1/projects/${p}/experiments/${e}`);
    await call("PATCH", experiment, `/v1/projects/${p}/experiments/${e}`, { metadata: { s: null } });
    await call("PATCH", experiment, `/v1/projects/${p}/experiments/${e}`, {
      metadata: { output_schema: { json_value: [{ name: "y", type: "complex" }] } },
    });
    await call("GET", experiment, `/v1/projects/${p}/experiments/exp-00000000000000000000000000`);
    const doomed = await call("POST", experiments, `/v1/projects/${p}/experiments`, { name: "doomed" });
    await call("DELETE", experiment, `/v1/projects/${p}/experiments/${doomed.body.experimentId}`);

    const models = "/v1/projects/{projectId}/models";
    const model = await call("POST", models, `/v1/projects/${p}/models`, { name: "m" });
    const m = model.body.modelId;
    await call("POST", models, `/v1/projects/${p}/models`, { name: "m" });
    await call("GET", models, `/v1/projects/${p}/models`);
    await call("GET", "/v1/projects/{projectId}/models/{modelId}", `/v1/projects/${p}/models/${m}`);
    const versions = "/v1/projects/{projectId}/models/{modelId}/versions";
    await call("POST", versions, `/v1/projects/${p}/models/${m}/versions`, { experimentId: e });
    await call("POST", versions, `/v1/projects/${p}/models/${m}/versions`, { experimentId: e });
    await call("GET", versions, `/v1/projects/${p}/models/${m}/versions`);
    await call("GET", `${versions}/{version}`, `/v1/projects/${p}/models/${m}/versions/1`);
    await call("GET", `${versions}/{version}`, `/v1/projects/${p}/models/${m}/versions/2`);
    await call("DELETE", experiment, `/v1/projects/${p}/experiments/${e}`);

    for (const kind of [
      "artifact-types",
      "deployable-artifact-types",
      "artifact-processors",
      "model-types",
      "runtimes",
    ]) {
      await call("GET", "/v1/catalog/{kind}", `/v1/catalog/${kind}?limit=100`);
    }
    const entries = "/v1/catalog/entries";
    await call("POST", entries, entries, { kind: "model-types", name: "openapi/type", readableName: "t" });
    const runtime = {
      kind: "runtimes",
      name: "openapi-runtime",
      modelType: "openapi/type",
      image: "example.com/r:1",
    };
    await call("POST", entries, entries, runtime);
    await call("POST", entries, entries, { kind: "runtimes", name: "python-tabular-runtime" });
    await call("POST", entries, entries, {
      kind: "model-types",
      name: "python/ready-model",
      readableName: "x",
    });
    await call("POST", entries, entries, { ...runtime, name: "openapi-orphan", modelType: "missing" });
    await call("POST", entries, entries, { ...runtime, name: "openapi-other" }, outsider);
    await call("DELETE", "/v1/catalog/{kind}", "/v1/catalog/runtimes?name=openapi-runtime");
    await call("DELETE", "/v1/catalog/{kind}", "/v1/catalog/runtimes?name=openapi-runtime");
    await call("DELETE", "/v1/catalog/{kind}", "/v1/catalog/model-types?name=python%2Fready-model");
    await call("GET", "/v1/catalog/compositions", "/v1/catalog/compositions?artifactType=python%2Fmlflow");
    await call("GET", "/v1/catalog/compositions", "/v1/catalog/compositions?artifactType=unknown");

    await call("DELETE", "/v1/projects/{projectId}", `/v1/projects/${p}`);
    expect(checked.size).toBeGreaterThanOrEqual(30);
  });

  it("says exactly what a metadata value and a name accept", () => {
    const value = document.components.schemas.MetadataValueInput;
    expect(value.oneOf).toHaveLength(6);
    for (const option of value.oneOf) {
      expect(option.required).toHaveLength(1);
      expect(option.additionalProperties).toBe(false);
    }
    const timestamp = value.oneOf.find((o: any) => o.required[0] === "timestamp_value");
    expect(timestamp.properties.timestamp_value.format).toBe("date-time");
    const body = document.paths["/v1/projects"].post.requestBody.content["application/json"].schema;
    expect(body.properties.name).toMatchObject({ type: "string", maxLength: 200 });
    const imports =
      document.paths["/v1/projects/{projectId}/imports/mlflow"].post.requestBody.content["application/json"]
        .schema;
    expect(imports.properties.trackingUri.format).toBe("uri");
  });

  it("links each create to the get, patch and delete of what it made", () => {
    const links = document.paths["/v1/projects/{projectId}/experiments"].post.responses["201"].links;
    for (const operationId of ["getExperiment", "patchExperiment", "deleteExperiment"]) {
      expect(links[operationId]).toEqual({
        operationId,
        parameters: { projectId: "$request.path.projectId", experimentId: "$response.body#/experimentId" },
      });
    }
    expect(document.paths["/v1/projects"].post.responses["201"].links.getProject.parameters).toEqual({
      projectId: "$response.body#/projectId",
    });
  });

  it("answers an undeclared method with 405 and an Allow header naming each method once", async () => {
    const response = await fetch(`${platform.config.apiUrl}/v1/catalog/compositions`, { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
    const kinds = await fetch(`${platform.config.apiUrl}/v1/catalog/runtimes`, { method: "PUT" });
    expect(kinds.status).toBe(405);
    expect(kinds.headers.get("allow")).toBe("GET, DELETE");
  });

  it("describes a 401", async () => {
    const response = await fetch(`${platform.config.apiUrl}/v1/projects`);
    conforms("GET", "/v1/projects", {
      status: response.status,
      body: await response.json(),
      headers: response.headers,
    });
  });

  it("is strict enough to catch a response that breaks it", () => {
    const ref = `openapi.json#/${pointer("paths", "/v1/projects/{projectId}/experiments/{experimentId}", "get", "responses", "200", "content", "application/json", "schema")}`;
    const validate = ajv.getSchema(ref);
    expect(validate?.({ experimentId: "exp-x", metadata: { a: { int64_value: 5 } } })).toBe(false);
  });
});
