import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlflowZips } from "../support/artifacts.ts";
import { score } from "../support/deployments.ts";
import { type H2oMojo, h2oMojos, MOJO_KINDS, type MojoKind } from "../support/h2o.ts";
import { runProcessor, startRuntime } from "../support/runtime-process.ts";
import { buildZip } from "../support/zip-builder.ts";

/**
 * The H2O-3 MOJO processor and runtime against MOJOs trained and exported by H2O-3 itself: the
 * runtime's scores are H2O's own in-process predictions, for rows with missing values and an
 * unseen category too.
 */
let mojos: Record<MojoKind, H2oMojo>;
let root: string;

beforeAll(async () => {
  mojos = await h2oMojos();
  root = mkdtempSync(join(tmpdir(), "byom-mojo-"));
}, 600_000);
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.each(MOJO_KINDS)("a %s GBM MOJO", (kind) => {
  it("is described by the processor and scores exactly what H2O predicted in process", async () => {
    const { zip, expected } = mojos[kind];
    const ready = join(root, kind);
    const processed = await runProcessor("h2o3-mojo-processor", zip, ready, { BYOM_MODEL_ID: `gbm-${kind}` });
    expect(processed.code, processed.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(ready, "byom-model.json"), "utf8"));
    expect(manifest).toMatchObject({ modelId: `gbm-${kind}`, sourceType: "h2o3/mojo", framework: "h2o3" });
    expect(manifest.h2o).toMatchObject({ h2oVersion: expected.h2oVersion, mojoVersion: "1.40" });
    expect(manifest.inputSchema).toEqual([
      { name: "age", type: "Float64" },
      { name: "income", type: "Float64" },
      { name: "color", type: "String" },
      { name: "member", type: "String" },
    ]);
    const classes = expected.predictionColumns.slice(1);
    expect(manifest.outputSchema).toEqual(
      kind === "regression"
        ? [{ name: "predict", type: "Float64" }]
        : [
            { name: "predict", type: "String" },
            ...classes.map((c) => ({ name: `${expected.response}.${c}`, type: "Float64" })),
          ],
    );

    const served = await startRuntime("h2o3-mojo-runtime", ready, `gbm-${kind}`, { BYOM_WORKERS: "2" });
    try {
      const answer = await score(served.url, { fields: expected.fields, rows: expected.rows });
      const body = answer.body as { score: string[][]; fields: string[] };
      expect(answer.status, JSON.stringify(body)).toBe(200);
      expect(body.fields).toEqual(manifest.outputSchema.map((c: { name: string }) => c.name));
      expect(body.score).toHaveLength(expected.predictions.length);
      body.score.forEach((row, r) => {
        const h2o = expected.predictions[r] as string[];
        if (kind !== "regression") expect(row[0], `row ${r} label`).toBe(h2o[0]);
        // The same doubles: H2O prints them with Java's shortest round-trip text, Byom with Python's.
        const numbers = (values: string[]) => values.slice(kind === "regression" ? 0 : 1).map(Number);
        expect(numbers(row), `row ${r}`).toEqual(numbers(h2o));
      });
      // The unseen level ("purple") and the missing values scored as H2O scores NA.
      expect(expected.rows.at(-1)).toContain("purple");
    } finally {
      await served.stop();
    }
  }, 300_000);
});

describe("h2o3-mojo-processor refuses what it cannot serve, with a reason", () => {
  it("refuses a zip that is not a MOJO, naming what to upload", async () => {
    const result = await runProcessor(
      "h2o3-mojo-processor",
      (await mlflowZips()).column,
      join(root, "not-mojo"),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no model.ini");
  });

  it("refuses a Driverless AI pipeline, naming its licensed runtime", async () => {
    const pipeline = join(root, "pipeline.zip");
    writeFileSync(pipeline, buildZip([{ name: "mojo-pipeline/pipeline.mojo", data: Buffer.from("x") }]));
    const result = await runProcessor("h2o3-mojo-processor", pipeline, join(root, "pipeline"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Driverless AI MOJO pipeline");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a file that is not a zip", async () => {
    const junk = join(root, "junk.zip");
    writeFileSync(junk, "not a zip at all");
    const result = await runProcessor("h2o3-mojo-processor", junk, join(root, "junk"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a zip archive");
  });

  it("refuses a declared input schema that does not fit the MOJO", async () => {
    const result = await runProcessor("h2o3-mojo-processor", mojos.binomial.zip, join(root, "declared"), {
      BYOM_INPUT_SCHEMA: JSON.stringify([{ name: "age", type: "String" }]),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'age'");
  });
});
