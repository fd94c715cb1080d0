import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassphrase } from "#lambdas/deployments/api/passphrase-hash.ts";
import { mlflowZips } from "../support/artifacts.ts";
import { h2oMojos } from "../support/h2o.ts";
import { type RunningRuntime, runProcessor, startRuntime } from "../support/runtime-process.ts";

/**
 * The same scorer API cases (scorer-api-cases.json) against every built-in runtime family: the
 * Python runtime serving a real MLflow scikit-learn model and the Java runtime serving a real
 * H2O-3 MOJO, each started as local mode starts it. Both must give the same statuses, the same
 * details and the same shapes of answer.
 */

interface Case {
  readonly name: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    readonly auth?: "none" | "wrong";
    readonly contentType?: string;
    readonly body?: { sample?: string[]; json?: unknown; raw?: string; oversized?: boolean };
  };
  readonly expect: Record<string, unknown> & { status: number };
}

const CASES: Case[] = JSON.parse(
  readFileSync(join(import.meta.dirname, "scorer-api-cases.json"), "utf8"),
).cases;
const PASSPHRASE = "open sesame";
const LIMIT = 200_000;
const DATA_TYPES = ["Bool", "Int32", "Int64", "Float32", "Float64", "Str", "Time64"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Family {
  readonly name: string;
  readonly processor: string;
  readonly runtime: string;
  readonly artifact: () => Promise<string>;
}

const FAMILIES: Family[] = [
  {
    name: "python (MLflow scikit-learn)",
    processor: "python-mlflow-processor",
    runtime: "python-tabular-runtime",
    artifact: async () => (await mlflowZips()).column,
  },
  {
    name: "java (H2O-3 MOJO)",
    processor: "h2o3-mojo-processor",
    runtime: "h2o3-mojo-runtime",
    artifact: async () => (await h2oMojos()).binomial.zip,
  },
];

type Sample = { fields: string[]; rows: unknown[][] };
type Field = { name: string; dataType: string };

describe.each(FAMILIES)("scorer API of the $name runtime", (family) => {
  let root: string;
  let served: RunningRuntime;
  let sample: Sample;
  let inputs: Field[];
  let outputs: string[];
  let sampleScore: unknown;
  const modelId = `api-${family.processor}`;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "byom-api-"));
    const ready = join(root, "ready");
    const processed = await runProcessor(family.processor, await family.artifact(), ready);
    expect(processed.code, processed.stderr).toBe(0);
    const batch = join(root, "batch");
    mkdirSync(batch);
    writeFileSync(join(root, "secret.csv"), "a\n1\n");
    served = await startRuntime(family.runtime, ready, modelId, {
      BYOM_WORKERS: "1",
      BYOM_PASSPHRASE_HASH: await hashPassphrase(PASSPHRASE),
      BYOM_BATCH_DIR: batch,
      BYOM_MAX_BODY_BYTES: String(LIMIT),
    });
    const auth = { Authorization: `Bearer ${PASSPHRASE}` };
    sample = (await (await fetch(`${served.url}/model/sample_request`, { headers: auth })).json()) as Sample;
    const schema = (await (await fetch(`${served.url}/model/schema`, { headers: auth })).json()) as {
      schema: { inputFields: Field[]; outputFields: Field[] };
    };
    inputs = schema.schema.inputFields;
    outputs = schema.schema.outputFields.map((f: Field) => f.name);
    const csv = (values: unknown[]) => values.map((v) => String(v)).join(",");
    writeFileSync(join(batch, "sample.csv"), `${csv(sample.fields)}\n${csv(sample.rows[0] ?? [])}\n`);
    sampleScore = (await call({ method: "POST", path: "/model/score", body: { sample: [] } })).body.score;
  }, 600_000);

  afterAll(async () => {
    await served?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function placeholders(): Record<string, string> {
    const float64 = inputs.findIndex((f) => f.dataType === "Float64");
    const last = inputs.at(-1) as Field;
    const typeName = (t: string) => ({ Bool: "Boolean", Str: "String" })[t] ?? t;
    return {
      modelId,
      first: sample.fields[0] as string,
      sampleFirst: String(sample.rows[0]?.[0]),
      last: last.name,
      lastType: typeName(last.dataType),
      float64: inputs[float64]?.name ?? "",
      float64Position: String(sample.fields.indexOf(inputs[float64]?.name ?? "")),
      width: String(sample.fields.length),
      widthMinus1: String(sample.fields.length - 1),
      limit: String(LIMIT),
      knownFields: `[${inputs
        .map((f) => f.name)
        .sort()
        .map((n) => `'${n}'`)
        .join(", ")}]`,
    };
  }

  const fill = (text: string) => text.replace(/\{(\w+)\}/g, (whole, key) => placeholders()[key] ?? whole);

  function sampleBody(ops: readonly string[]): Record<string, unknown> {
    const row = [...(sample.rows[0] ?? [])];
    let body: Record<string, unknown> = { fields: [...sample.fields], rows: [row] };
    const fields = () => body.fields as string[];
    const rows = () => body.rows as unknown[][];
    const float64At = sample.fields.indexOf(inputs.find((f) => f.dataType === "Float64")?.name ?? "");
    for (const op of ops) {
      if (op === "reverseFields")
        body = { fields: fields().toReversed(), rows: rows().map((r) => r.toReversed()) };
      else if (op === "typedNumbers") {
        body.rows = rows().map((r) =>
          r.map((value, i) => {
            const type = inputs.find((f) => f.name === fields()[i])?.dataType ?? "";
            return /^(Int|Float)/.test(type) ? Number(value) : value;
          }),
        );
      } else if (op === "idFieldGiven") {
        body = {
          ...body,
          fields: [...fields(), "key"],
          rows: rows().map((r, i) => [...r, `row-${i + 1}`]),
          idField: "key",
        };
      } else if (op === "includeFirst") body.includeFieldsInOutput = [sample.fields[0]];
      else if (op === "twoRows") body.rows = [row, row];
      else if (op === "idFieldGenerated") body.idField = "rid";
      else if (op === "noFieldNames") body.noFieldNamesInOutput = true;
      else if (op === "noRows") body.rows = [];
      else if (op === "dropLastField")
        body = { fields: fields().slice(0, -1), rows: rows().map((r) => r.slice(0, -1)) };
      else if (op === "addUnknownField")
        body = { fields: [...fields(), "x"], rows: rows().map((r) => [...r, "1"]) };
      else if (op === "duplicateFirstField") {
        body = { fields: [...fields(), fields()[0]], rows: rows().map((r) => [...r, r[0]]) };
      } else if (op === "shortSecondRow") body.rows = [row, row.slice(0, -1)];
      else if (op === "badFloat64InSecondRow")
        body.rows = [row, row.map((v, i) => (i === float64At ? "lots" : v))];
      else if (op === "booleanFloat64") body.rows = [row.map((v, i) => (i === float64At ? true : v))];
      else if (op === "includeUnknown") body.includeFieldsInOutput = ["nope"];
      else if (op === "rowsNotList") body.rows = "x";
      else if (op === "noFieldNamesNotBoolean") body.noFieldNamesInOutput = "yes";
      else throw new Error(`unknown op ${op} in scorer-api-cases.json`);
    }
    return body;
  }

  async function call(
    request: Case["request"],
  ): Promise<{ status: number; type: string; text: string; body: any }> {
    const headers: Record<string, string> = {};
    if (request.auth === undefined) headers.Authorization = `Bearer ${PASSPHRASE}`;
    if (request.auth === "wrong") headers.Authorization = "Bearer not it";
    let payload: string | undefined;
    const body = request.body;
    if (body?.sample) payload = JSON.stringify(sampleBody(body.sample));
    else if (body?.json !== undefined) payload = JSON.stringify(body.json);
    else if (body?.raw !== undefined) payload = body.raw;
    else if (body?.oversized) {
      const many = { fields: sample.fields, rows: Array.from({ length: 20_000 }, () => sample.rows[0]) };
      payload = JSON.stringify(many);
      expect(payload.length).toBeGreaterThan(LIMIT);
    }
    if (payload !== undefined) headers["Content-Type"] = request.contentType ?? "application/json";
    const answer = await fetch(`${served.url}${request.path}`, {
      method: request.method,
      headers,
      body: payload,
    });
    const text = await answer.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: answer.status, type: answer.headers.get("content-type") ?? "", text, body: parsed };
  }

  it.each(CASES)("$name", async ({ request, expect: want }) => {
    const answer = await call(request);
    expect(answer.status, answer.text).toBe(want.status);
    if (want.status >= 400) expect(typeof answer.body?.detail, answer.text).toBe("string");
    if (typeof want.detail === "string") expect(answer.body.detail).toContain(fill(want.detail));
    if (typeof want.contentType === "string") expect(answer.type.startsWith(want.contentType)).toBe(true);
    if (typeof want.text === "string") expect(answer.text).toBe(fill(want.text));
    if (want.json !== undefined) expect(answer.body).toEqual(want.json);
    if (want.schema) {
      expect(answer.body.id).toBe(modelId);
      expect(answer.body.name).toBe(modelId);
      expect(inputs.map((f) => f.name)).toEqual(sample.fields);
      expect(outputs.length).toBeGreaterThan(0);
      for (const field of [...answer.body.schema.inputFields, ...answer.body.schema.outputFields]) {
        expect(DATA_TYPES).toContain(field.dataType);
      }
    }
    if (want.sample) {
      expect(answer.body.fields).toEqual(inputs.map((f) => f.name));
      expect(answer.body.rows).toHaveLength(1);
      for (const value of answer.body.rows[0]) expect(typeof value).toBe("string");
    }
    if (Array.isArray(want.fields)) {
      const names = (want.fields as string[]).flatMap((n) => (n === "...outputs" ? outputs : [fill(n)]));
      expect(answer.body.fields).toEqual(names);
      expect(answer.body.id).toBe(modelId);
    }
    if (typeof want.rows === "number") {
      expect(answer.body.score).toHaveLength(want.rows);
      for (const row of answer.body.score) for (const value of row) expect(typeof value).toBe("string");
    }
    if (want.sameScoreAsSample) expect(answer.body.score).toEqual(sampleScore);
    if (Array.isArray(want.firstValues)) {
      const values = (want.firstValues as string[]).map(fill);
      expect(answer.body.score[0].slice(0, values.length)).toEqual(values);
      expect(answer.body.score[0].slice(values.length)).toEqual((sampleScore as unknown[][])[0]);
    }
    if (want.noFields) expect(answer.body).not.toHaveProperty("fields");
    if (want.uuidFirst) for (const row of answer.body.score) expect(row[0]).toMatch(UUID);
  });
});
