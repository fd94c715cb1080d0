import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let base: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  const project = await platform.api.call("POST", "/v1/projects", { name: "schemas" });
  base = `/v1/projects/${project.body.projectId}/experiments`;
});
afterAll(async () => {
  await platform?.stop();
});

const goodSchema = [
  { name: "age", type: "int32" },
  { name: "income", type: "FLOAT64" },
  { name: "city", type: "String" },
];

describe("model schema rules", () => {
  it("accepts types case-insensitively and stores them canonical", async () => {
    const created = await platform.api.call("POST", base, {
      name: "typed",
      metadata: {
        input_schema: {
          json_value: [
            ...goodSchema,
            { name: "member", type: "boolean" },
            { name: "seen", type: "TIME64" },
            { name: "clicks", type: "iNt64" },
            { name: "score32", type: "float32" },
          ],
        },
        output_schema: { json_value: [{ name: "churn", type: "float64" }] },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.metadata.input_schema.json_value).toEqual([
      { name: "age", type: "Int32" },
      { name: "income", type: "Float64" },
      { name: "city", type: "String" },
      { name: "member", type: "Boolean" },
      { name: "seen", type: "Time64" },
      { name: "clicks", type: "Int64" },
      { name: "score32", type: "Float32" },
    ]);
    expect(created.body.metadata.output_schema.json_value).toEqual([{ name: "churn", type: "Float64" }]);
  });

  const badCases: [string, unknown, RegExp][] = [
    ["not a list", { name: "x", type: "Int32" }, /must be a list/],
    ["an empty list", [], /empty/],
    ["an entry that is not an object", [{ name: "a", type: "Int32" }, "b"], /input_schema\[1\].*object/],
    ["an entry without a type", [{ name: "a" }], /input_schema\[0\] \('a'\) needs a string 'type'/],
    ["an entry without a name", [{ type: "Int32" }], /input_schema\[0\] needs a string 'name'/],
    [
      "an entry with extra fields",
      [{ name: "a", type: "Int32", nullable: true }],
      /input_schema\[0\].*'nullable'/,
    ],
    ["an empty name", [{ name: " ", type: "Int32" }], /input_schema\[0\] has an empty name/],
    [
      "a duplicate name",
      [
        { name: "a", type: "Int32" },
        { name: "b", type: "String" },
        { name: "a", type: "String" },
      ],
      /input_schema\[2\] repeats the column name 'a' of input_schema\[0\]/,
    ],
    [
      "an unknown type",
      [
        { name: "a", type: "Int32" },
        { name: "b", type: "decimal" },
      ],
      /input_schema\[1\] \('b'\).*'decimal'/,
    ],
  ];

  it.each(badCases)(
    "rejects a schema that is %s with 400 INVALID_SCHEMA naming the entry",
    async (_, schema, message) => {
      const response = await platform.api.call("POST", base, {
        name: "bad",
        metadata: { input_schema: { json_value: schema } },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("INVALID_SCHEMA");
      expect(response.body.error.message).toMatch(message);
      expect(response.body.error.details[0].path).toMatch(/^input_schema/);
    },
  );

  it("rejects a schema given as another value kind than json_value", async () => {
    const response = await platform.api.call("POST", base, {
      name: "bad",
      metadata: { output_schema: { string_value: "[]" } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("INVALID_SCHEMA");
    expect(response.body.error.message).toMatch(/output_schema must be given as a json_value/);
  });

  it("creates nothing when a schema is rejected", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "nothing-created" });
    const path = `/v1/projects/${project.projectId}/experiments`;
    const response = await platform.api.call("POST", path, {
      name: "bad",
      metadata: { input_schema: { json_value: [{ name: "a", type: "Int128" }] } },
    });
    expect(response.status).toBe(400);
    expect((await platform.api.call("GET", path)).body.items).toEqual([]);
  });

  it.each(badCases)(
    "leaves the experiment exactly as it was after a PATCH with a schema that is %s",
    async (_, schema) => {
      const { body: before } = await platform.api.call("POST", base, {
        name: "stable",
        metadata: { input_schema: { json_value: goodSchema }, note: { string_value: "keep" } },
      });
      const path = `${base}/${before.experimentId}`;
      const response = await platform.api.call("PATCH", path, {
        metadata: { note: null, other: { bool_value: true }, input_schema: { json_value: schema } },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("INVALID_SCHEMA");
      const after = await platform.api.call("GET", path);
      expect(after.body).toEqual(before);
    },
  );

  it("lets a PATCH replace and remove a schema", async () => {
    const { body: exp } = await platform.api.call("POST", base, { name: "replace" });
    const path = `${base}/${exp.experimentId}`;
    const set = await platform.api.call("PATCH", path, {
      metadata: { output_schema: { json_value: [{ name: "y", type: "BOOLEAN" }] } },
    });
    expect(set.body.metadata.output_schema).toEqual({ json_value: [{ name: "y", type: "Boolean" }] });
    const removed = await platform.api.call("PATCH", path, { metadata: { output_schema: null } });
    expect(removed.body.metadata).toEqual({});
  });
});
