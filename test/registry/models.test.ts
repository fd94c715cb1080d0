import { describe, expect, it } from "vitest";
import { listPages } from "../support/platform.ts";
import { outsider, platform, projectId, useProjectWithRoles, viewer } from "../support/project-roles.ts";

useProjectWithRoles("models", "models");

const models = () => `/v1/projects/${projectId}/models`;
const MISSING_MODEL = "mdl-00000000000000000000000000";
const MISSING_EXPERIMENT = "exp-00000000000000000000000000";

async function newModel(name: string) {
  const response = await platform.api.call("POST", models(), { name });
  expect(response.status).toBe(201);
  return response.body as { modelId: string };
}

async function newExperiments(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await platform.api.call("POST", `/v1/projects/${projectId}/experiments`, {
      name: `e${i}`,
    });
    ids.push(response.body.experimentId);
  }
  return ids;
}

describe("registered models", () => {
  it("creates, shows and lists a model", async () => {
    const created = await platform.api.call("POST", models(), { name: "churn", description: "who leaves" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      projectId,
      name: "churn",
      description: "who leaves",
      createdBy: "local:admin",
    });
    expect(created.body.modelId).toMatch(/^mdl-[0-9a-z]{26}$/);
    const shown = await viewer.call("GET", `${models()}/${created.body.modelId}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);
    const listed = await viewer.call("GET", `${models()}?limit=100`);
    expect(listed.body.items).toContainEqual(created.body);
  });

  it("refuses a duplicate model name with 409 naming the existing model", async () => {
    const first = await newModel("unique-name");
    const again = await platform.api.call("POST", models(), { name: "unique-name" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
    expect(again.body.error.message).toContain(first.modelId);
  });

  it("gives a name to exactly one of many parallel creates", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => platform.api.call("POST", models(), { name: "raced-name" })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
  });

  it("rejects bad input with 400", async () => {
    expect((await platform.api.call("POST", models(), { name: "" })).status).toBe(400);
    expect((await platform.api.call("POST", models(), {})).status).toBe(400);
    expect((await platform.api.call("GET", `${models()}/mdl-x`)).status).toBe(400);
    const model = await newModel("bad-input");
    const versions = `${models()}/${model.modelId}/versions`;
    const badExperiment = await platform.api.call("POST", versions, { experimentId: "nope" });
    expect(badExperiment.status).toBe(400);
    expect(badExperiment.body.error.details[0].path).toBe("body.experimentId");
    expect((await platform.api.call("GET", `${versions}/0`)).status).toBe(400);
    expect((await platform.api.call("GET", `${versions}/one`)).status).toBe(400);
    expect((await platform.api.call("GET", `${versions}/0x10`)).status).toBe(400);
    expect((await platform.api.call("GET", `${versions}/1.5`)).status).toBe(400);
  });

  it("answers 404 for unknown models, experiments and versions", async () => {
    expect((await platform.api.call("GET", `${models()}/${MISSING_MODEL}`)).status).toBe(404);
    expect((await platform.api.call("GET", `${models()}/${MISSING_MODEL}/versions`)).status).toBe(404);
    expect((await platform.api.call("GET", `${models()}/${MISSING_MODEL}/versions/1`)).status).toBe(404);
    const [experimentId] = await newExperiments(1);
    expect(
      (await platform.api.call("POST", `${models()}/${MISSING_MODEL}/versions`, { experimentId })).status,
    ).toBe(404);
    const model = await newModel("not-found-cases");
    const unknownExperiment = await platform.api.call("POST", `${models()}/${model.modelId}/versions`, {
      experimentId: MISSING_EXPERIMENT,
    });
    expect(unknownExperiment.status).toBe(404);
    expect(unknownExperiment.body.error.message).toContain(MISSING_EXPERIMENT);
    const noVersion = await platform.api.call("GET", `${models()}/${model.modelId}/versions/7`);
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.error.message).toContain("versions");
  });

  it("answers 401 without a caller, 404 to outsiders and 403 to viewers who write", async () => {
    expect((await fetch(`${platform.config.apiUrl}${models()}`)).status).toBe(401);
    const model = await newModel("guarded");
    const [experimentId] = await newExperiments(1);
    const versions = `${models()}/${model.modelId}/versions`;
    expect((await outsider.call("GET", models())).status).toBe(404);
    expect((await outsider.call("GET", `${models()}/${model.modelId}`)).status).toBe(404);
    expect((await outsider.call("POST", models(), { name: "x" })).status).toBe(404);
    expect((await outsider.call("POST", versions, { experimentId })).status).toBe(404);
    expect((await viewer.call("POST", models(), { name: "x" })).status).toBe(403);
    expect((await viewer.call("POST", versions, { experimentId })).status).toBe(403);
    expect((await viewer.call("GET", versions)).status).toBe(200);
  });
});

describe("model versions", () => {
  it("registers experiments as versions 1, 2 … and shows a version with its experiment", async () => {
    const model = await newModel("sequential");
    const [first, second] = await newExperiments(2);
    const versions = `${models()}/${model.modelId}/versions`;
    const one = await platform.api.call("POST", versions, { experimentId: first });
    expect(one.status).toBe(201);
    expect(one.body).toMatchObject({ modelId: model.modelId, projectId, version: 1, experimentId: first });
    const two = await platform.api.call("POST", versions, { experimentId: second });
    expect(two.body.version).toBe(2);

    const shown = await viewer.call("GET", `${versions}/2`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ version: 2, experimentId: second });
    expect(shown.body.experiment).toMatchObject({
      experimentId: second,
      registeredAs: { modelId: model.modelId, version: 2 },
    });
    const experiment = await platform.api.call("GET", `/v1/projects/${projectId}/experiments/${first}`);
    expect(experiment.body.registeredAs).toEqual({ modelId: model.modelId, version: 1 });
  });

  it("refuses to register an experiment twice, naming the model and version it already is", async () => {
    const [experimentId] = await newExperiments(1);
    const a = await newModel("first-home");
    const b = await newModel("second-home");
    expect(
      (await platform.api.call("POST", `${models()}/${a.modelId}/versions`, { experimentId })).status,
    ).toBe(201);
    for (const model of [a, b]) {
      const again = await platform.api.call("POST", `${models()}/${model.modelId}/versions`, {
        experimentId,
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe("CONFLICT");
      expect(again.body.error.message).toContain(a.modelId);
      expect(again.body.error.message).toContain("version 1");
    }
    // The refused registrations left no version behind.
    expect((await platform.api.call("GET", `${models()}/${b.modelId}/versions`)).body.items).toEqual([]);
  });

  it("refuses to delete a registered experiment", async () => {
    const [experimentId] = await newExperiments(1);
    const model = await newModel("keeps-its-experiment");
    await platform.api.call("POST", `${models()}/${model.modelId}/versions`, { experimentId });
    const deleted = await platform.api.call(
      "DELETE",
      `/v1/projects/${projectId}/experiments/${experimentId}`,
    );
    expect(deleted.status).toBe(409);
    // CONFLICT, as for registering it twice; EXPERIMENT_REGISTERED is for changes to its bytes or schema.
    expect(deleted.body.error.code).toBe("CONFLICT");
    expect(deleted.body.error.message).toContain(model.modelId);
    expect(deleted.body.error.message).toContain("A registered experiment cannot be deleted.");
  });

  it("gives 100 parallel registrations of 100 experiments exactly versions 1..100", async () => {
    const model = await newModel("concurrent");
    const experimentIds = await newExperiments(100);
    const versions = `${models()}/${model.modelId}/versions`;
    const started = performance.now();
    const results = await Promise.all(
      experimentIds.map((experimentId) => platform.api.call("POST", versions, { experimentId })),
    );
    const elapsed = Math.round(performance.now() - started);
    const firstTry = results.filter((r) => r.status === 201).length;
    console.info(`100 parallel registrations took ${elapsed} ms; ${firstTry} registered at the first try`);
    // Under heavy machine load a registration may give up with the documented retryable 409 (it
    // releases its claim first); anything else is a failure.
    for (const result of results.filter((r) => r.status !== 201)) {
      expect(result.status, JSON.stringify(result.body)).toBe(409);
      expect(result.body.error.message).toMatch(/raced for the next version.*Retry the request/);
    }
    const versionOf = new Map<string, number>();
    results.forEach((r, i) => {
      if (r.status === 201) versionOf.set(experimentIds[i]!, r.body.version);
    });
    // Retry as a client would: a few at a time, until every experiment is a version.
    for (let round = 0; round < 30 && versionOf.size < 100; round++) {
      const pending = experimentIds.filter((id) => !versionOf.has(id)).slice(0, 10);
      const retried = await Promise.all(
        pending.map((experimentId) => platform.api.call("POST", versions, { experimentId })),
      );
      retried.forEach((r, i) => {
        if (r.status === 201) versionOf.set(pending[i]!, r.body.version);
        else expect(r.status, JSON.stringify(r.body)).toBe(409);
      });
    }
    const numbers = [...versionOf.values()].sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    // The stored versions agree, each experiment once, paged in order.
    const pages = await listPages(platform.api, versions, 30, 10);
    for (const page of pages) expect(page.status).toBe(200);
    const listed: { version: number; experimentId: string }[] = pages.flatMap((page) => page.body.items);
    expect(pages.length).toBe(4);
    expect(listed.map((v) => v.version)).toEqual(numbers);
    expect(new Set(listed.map((v) => v.experimentId)).size).toBe(100);
    for (const [experimentId, version] of versionOf) {
      const experiment = await platform.api.call(
        "GET",
        `/v1/projects/${projectId}/experiments/${experimentId}`,
      );
      expect(experiment.body.registeredAs).toEqual({ modelId: model.modelId, version });
    }
  }, 180_000);

  it("registers the same experiment sent twice in parallel exactly once", async () => {
    const model = await newModel("double-submit");
    const versions = `${models()}/${model.modelId}/versions`;
    for (let round = 0; round < 5; round++) {
      const [experimentId] = await newExperiments(1);
      const [a, b] = await Promise.all([
        platform.api.call("POST", versions, { experimentId }),
        platform.api.call("POST", versions, { experimentId }),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      const loser = a.status === 409 ? a : b;
      expect(loser.body.error.message).toContain(model.modelId);
    }
    const listed = await platform.api.call("GET", versions);
    expect(listed.body.items.map((v: { version: number }) => v.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it("pages through more models than a page holds", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "model-paging" });
    const base = `/v1/projects/${project.projectId}/models`;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await platform.api.call("POST", base, { name: `m${i}` })).body.modelId);
    const first = await platform.api.call("GET", `${base}?limit=5`);
    const second = await platform.api.call("GET", `${base}?limit=5&cursor=${first.body.nextCursor}`);
    const third = await platform.api.call("GET", `${base}?limit=5&cursor=${second.body.nextCursor}`);
    const seen = [...first.body.items, ...second.body.items, ...third.body.items].map((m) => m.modelId);
    expect(seen).toEqual(ids);
    expect(third.body.nextCursor).toBeNull();
  });
});
