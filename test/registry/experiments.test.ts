import { describe, expect, it } from "vitest";
import { waitForJob } from "../support/artifacts.ts";
import { listPages, objectStatus } from "../support/platform.ts";
import { outsider, platform, projectId, useProjectWithRoles, viewer } from "../support/project-roles.ts";

useProjectWithRoles("experiments", "exp");

const experiments = () => `/v1/projects/${projectId}/experiments`;

async function newExperiment(body: Record<string, unknown> = { name: "exp" }) {
  const response = await platform.api.call("POST", experiments(), body);
  expect(response.status).toBe(201);
  return response.body;
}

describe("experiments", () => {
  it("creates an experiment with typed metadata and reads it back", async () => {
    const created = await platform.api.call("POST", experiments(), {
      name: "churn-gbm",
      description: "gradient boosting",
      metadata: {
        owner: { string_value: "ana" },
        rows: { int64_value: 9223372036854775807n.toString() },
        epochs: { int64_value: 12 },
        auc: { double_value: 0.91 },
        tuned: { bool_value: true },
        params: { json_value: { depth: 6, rates: [0.1, 0.2], note: null } },
        trainedAt: { timestamp_value: "2026-11-27T10:00:00.123+01:00" },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.experimentId).toMatch(/^exp-[0-9a-z]{26}$/);
    expect(created.body).toMatchObject({
      projectId,
      name: "churn-gbm",
      description: "gradient boosting",
      createdBy: "local:admin",
      registeredAs: null,
      metadata: {
        owner: { string_value: "ana" },
        rows: { int64_value: "9223372036854775807" },
        epochs: { int64_value: "12" },
        auc: { double_value: 0.91 },
        tuned: { bool_value: true },
        params: { json_value: { depth: 6, rates: [0.1, 0.2], note: null } },
        trainedAt: { timestamp_value: "2026-11-27T10:00:00.123+01:00" },
      },
    });
    const read = await viewer.call("GET", `${experiments()}/${created.body.experimentId}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it("keeps doubles and JSON outside DynamoDB's number range exact", async () => {
    const exp = await newExperiment({
      name: "ranges",
      metadata: { huge: { double_value: 1.7e308 }, tiny: { json_value: [5e-324, 1e200] } },
    });
    const read = await platform.api.call("GET", `${experiments()}/${exp.experimentId}`);
    expect(read.body.metadata.huge).toEqual({ double_value: 1.7e308 });
    expect(read.body.metadata.tiny).toEqual({ json_value: [5e-324, 1e200] });
  });

  it("merges a PATCH: values set or replace keys, null removes them", async () => {
    const exp = await newExperiment({
      name: "patchy",
      metadata: { a: { string_value: "1" }, b: { string_value: "2" } },
    });
    const patched = await platform.api.call("PATCH", `${experiments()}/${exp.experimentId}`, {
      metadata: { a: null, b: { int64_value: "-5" }, c: { bool_value: false } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toEqual({ b: { int64_value: "-5" }, c: { bool_value: false } });
    expect(patched.body.updatedAt >= exp.updatedAt).toBe(true);
    const read = await platform.api.call("GET", `${experiments()}/${exp.experimentId}`);
    expect(read.body.metadata).toEqual(patched.body.metadata);
  });

  it("merges concurrent PATCHes of different keys", async () => {
    const exp = await newExperiment({ name: "concurrent" });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        platform.api.call("PATCH", `${experiments()}/${exp.experimentId}`, {
          metadata: { [`k${i}`]: { int64_value: i } },
        }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const read = await platform.api.call("GET", `${experiments()}/${exp.experimentId}`);
    expect(Object.keys(read.body.metadata)).toHaveLength(20);
  });

  it.each([
    ["no value field", {}],
    ["two value fields", { string_value: "a", bool_value: true }],
    ["an unknown field", { float_value: 1 }],
    ["an int64 out of range", { int64_value: "9223372036854775808" }],
    ["an int64 with a fraction", { int64_value: 1.5 }],
    ["an int64 beyond 2^53 as a number", { int64_value: 2 ** 60 }],
    ["a non-decimal int64 string", { int64_value: "0x10" }],
    ["a timestamp that is not RFC 3339", { timestamp_value: "27/11/2026" }],
    ["a wrongly typed value", { bool_value: "yes" }],
  ])("rejects a metadata value with %s (400 VALIDATION_FAILED naming the key)", async (_, value) => {
    const response = await platform.api.call("POST", experiments(), {
      name: "bad",
      metadata: { bad_key: value },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("VALIDATION_FAILED");
    expect(response.body.error.details[0].path).toContain("bad_key");
  });

  it("rejects bad create bodies and bad ids with 400", async () => {
    expect((await platform.api.call("POST", experiments(), { name: " " })).status).toBe(400);
    expect((await platform.api.call("POST", experiments(), { name: "x", extra: 1 })).status).toBe(400);
    expect(
      (await platform.api.call("POST", experiments(), { name: "x", metadata: { "": { string_value: "" } } }))
        .status,
    ).toBe(400);
    const badId = await platform.api.call("GET", `${experiments()}/not-an-id`);
    expect(badId.status).toBe(400);
    expect(badId.body.error.details[0].path).toBe("path.experimentId");
    const notNull = await platform.api.call("PATCH", `${experiments()}/exp-00000000000000000000000000`, {
      metadata: "x",
    });
    expect(notNull.status).toBe(400);
  });

  it("refuses more metadata keys than one request may carry", async () => {
    const metadata = Object.fromEntries(
      Array.from({ length: 101 }, (_, i) => [`k${i}`, { bool_value: true }]),
    );
    const response = await platform.api.call("POST", experiments(), { name: "many", metadata });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/at most 100/);
  });

  it("answers 413 when metadata would outgrow the experiment, and keeps it unchanged", async () => {
    const exp = await newExperiment({ name: "big" });
    const chunk = "x".repeat(300_000);
    const first = await platform.api.call("PATCH", `${experiments()}/${exp.experimentId}`, {
      metadata: { a: { string_value: chunk } },
    });
    expect(first.status).toBe(200);
    const second = await platform.api.call("PATCH", `${experiments()}/${exp.experimentId}`, {
      metadata: { b: { string_value: chunk } },
    });
    expect(second.status).toBe(413);
    const read = await platform.api.call("GET", `${experiments()}/${exp.experimentId}`);
    expect(Object.keys(read.body.metadata)).toEqual(["a"]);
  });

  it("answers 404 for an unknown experiment on GET, PATCH and DELETE", async () => {
    const path = `${experiments()}/exp-00000000000000000000000000`;
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { metadata: {} }],
      ["DELETE", undefined],
    ] as const) {
      const response = await platform.api.call(method, path, body);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("NOT_FOUND");
    }
  });

  it("hides experiments from non-members (404) and lets viewers read but not write (403)", async () => {
    const exp = await newExperiment({ name: "guarded" });
    const path = `${experiments()}/${exp.experimentId}`;
    expect((await outsider.call("GET", experiments())).status).toBe(404);
    expect((await outsider.call("GET", path)).status).toBe(404);
    expect((await outsider.call("POST", experiments(), { name: "x" })).status).toBe(404);
    expect((await viewer.call("GET", experiments())).status).toBe(200);
    expect((await viewer.call("POST", experiments(), { name: "x" })).status).toBe(403);
    expect((await viewer.call("PATCH", path, { metadata: { a: { bool_value: true } } })).status).toBe(403);
    const denied = await viewer.call("DELETE", path);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("FORBIDDEN");
    expect((await platform.api.call("GET", path)).status).toBe(200);
  });

  it("answers 401 without a caller identity", async () => {
    const response = await fetch(`${platform.config.apiUrl}${experiments()}`);
    expect(response.status).toBe(401);
  });

  it("deletes an experiment", async () => {
    const exp = await newExperiment({ name: "doomed" });
    const path = `${experiments()}/${exp.experimentId}`;
    const deleted = await platform.api.call("DELETE", path);
    expect(deleted.status).toBe(202);
    expect(deleted.body.location).toBe(`/v1/projects/${projectId}/jobs/${deleted.body.jobId}`);
    expect((await platform.api.call("GET", path)).status).toBe(404);
    expect((await waitForJob(platform.api, projectId, deleted.body.jobId)).status).toBe("SUCCEEDED");
    expect((await platform.api.call("DELETE", path)).status).toBe(404);
  });

  it("deletes an experiment with its artifacts' bytes, uploaded or still uploading", async () => {
    const exp = await newExperiment({ name: "with-bytes" });
    const base = `${experiments()}/${exp.experimentId}/artifacts`;
    const bytes = Buffer.from("not really a model");
    const small = await platform.api.call("POST", base, {
      type: "python/pickle",
      fileName: "m.pkl",
      sizeBytes: bytes.length,
      framework: "sklearn",
    });
    expect(small.status).toBe(201);
    const put = await fetch(small.body.upload.url, {
      method: "PUT",
      headers: small.body.upload.headers,
      body: bytes,
    });
    expect(put.status).toBe(200);
    const big = await platform.api.call("POST", base, {
      type: "python/pickle",
      fileName: "big.pkl",
      sizeBytes: 300 * 1024 * 1024,
      framework: "sklearn",
    });
    expect(big.body.upload.multipart.uploadId).toBeTruthy();
    const key = `artifacts/${projectId}/${exp.experimentId}/${small.body.artifact.artifactId}`;
    const head = () => objectStatus(platform.config, key);
    expect(await head()).toBe(200);

    const deleted = await platform.api.call("DELETE", `${experiments()}/${exp.experimentId}`);
    expect(deleted.status).toBe(202);
    const job = await waitForJob(platform.api, projectId, deleted.body.jobId);
    expect(job).toMatchObject({ status: "SUCCEEDED", result: { artifactsRemoved: 2 } });
    expect(await head()).toBe(404);
    // The unfinished multipart upload is aborted too; s3rver does not check upload ids on later
    // part PUTs, so that part shows only on AWS (the bucket's 7-day abort rule is the backstop).
  });

  it("deletes a project with the bytes of every experiment's artifacts", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "doomed-project" });
    const objects: string[] = [];
    for (const name of ["one", "two"]) {
      const { body: exp } = await platform.api.call("POST", `/v1/projects/${project.projectId}/experiments`, {
        name,
      });
      const bytes = Buffer.from(`model ${name}`);
      const created = await platform.api.call(
        "POST",
        `/v1/projects/${project.projectId}/experiments/${exp.experimentId}/artifacts`,
        { type: "python/pickle", fileName: `${name}.pkl`, sizeBytes: bytes.length, framework: "sklearn" },
      );
      const put = await fetch(created.body.upload.url, {
        method: "PUT",
        headers: created.body.upload.headers,
        body: bytes,
      });
      expect(put.status).toBe(200);
      objects.push(`artifacts/${project.projectId}/${exp.experimentId}/${created.body.artifact.artifactId}`);
    }
    const status = (key: string) => objectStatus(platform.config, key);
    expect(await Promise.all(objects.map(status))).toEqual([200, 200]);
    const deleted = await platform.api.call("DELETE", `/v1/projects/${project.projectId}`);
    expect(deleted.status).toBe(202);
    expect((await waitForJob(platform.api, project.projectId, deleted.body.jobId)).status).toBe("SUCCEEDED");
    expect(await Promise.all(objects.map(status))).toEqual([404, 404]);
  });

  it("pages through more experiments than a page holds, in creation order", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "paging" });
    const base = `/v1/projects/${project.projectId}/experiments`;
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push((await platform.api.call("POST", base, { name: `e${i}` })).body.experimentId);
    }
    const pages = await listPages(platform.api, base, 10, 10);
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(10);
    }
    const seen = pages.flatMap((page) =>
      page.body.items.map((e: { experimentId: string }) => e.experimentId),
    );
    expect(seen).toEqual(ids);
    expect(pages.length).toBeGreaterThanOrEqual(3);

    const foreign = await platform.api.call(
      "GET",
      `${experiments()}?cursor=${encodeURIComponent("eyJwayI6IngifQ")}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe("INVALID_CURSOR");
    const forge = (key: object) => Buffer.from(JSON.stringify(key)).toString("base64url");
    const pk = `PROJECT#${project.projectId}`;
    for (const key of [{ pk, sk: 5 }, { pk }, { pk, sk: "ZZZ" }, { pk, sk: "EXPERIMENT#x", extra: "y" }]) {
      const forged = await platform.api.call("GET", `${base}?cursor=${forge(key)}`);
      expect(forged.status, JSON.stringify(key)).toBe(400);
      expect(forged.body.error.code).toBe("INVALID_CURSOR");
    }
    expect((await platform.api.call("GET", `${base}?limit=0`)).status).toBe(400);
    expect((await platform.api.call("GET", `${base}?limit=101`)).status).toBe(400);
  });

  it("stores keys that look like expression syntax or object internals as plain keys", async () => {
    const keys = ["a.b", "#x", ":v", "metadata", "größe", "with space", "constructor", "toString", "[0]"];
    const metadata = Object.fromEntries(keys.map((k, i) => [k, { int64_value: i }]));
    const exp = await newExperiment({ name: "odd-keys", metadata });
    expect(Object.keys(exp.metadata).sort()).toEqual([...keys].sort());
    const path = `${experiments()}/${exp.experimentId}`;
    const patched = await platform.api.call("PATCH", path, {
      metadata: { "a.b": null, "#x": { string_value: "hash" }, "[1]": { bool_value: true } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata["#x"]).toEqual({ string_value: "hash" });
    expect(patched.body.metadata).not.toHaveProperty("a.b");
    expect(patched.body.metadata["[1]"]).toEqual({ bool_value: true });
  });

  it("never lets __proto__ reach storage (the validator drops it)", async () => {
    const response = await platform.api.call(
      "POST",
      experiments(),
      '{"name": "proto", "metadata": {"__proto__": {"string_value": "x"}, "kept": {"bool_value": true}}}',
    );
    expect(response.status).toBe(201);
    expect(response.body.metadata).toEqual({ kept: { bool_value: true } });
  });
});
