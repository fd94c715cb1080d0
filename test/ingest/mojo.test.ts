import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  mlflowZips,
  newProjectAndExperiment,
  uploadArtifact,
  waitForArtifact,
} from "../support/artifacts.ts";
import { type H2oMojo, h2oMojos, type MojoKind } from "../support/h2o.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { buildZip } from "../support/zip-builder.ts";

/**
 * Ingestion of H2O-3 MOJOs through the real upload path (presigned PUT to s3rver, the S3 event,
 * the ingest handler): the MOJO's own model.ini becomes the experiment's schema, in the types
 * the MOJO runtime serves, with no metadata from the user.
 */
let platform: TestPlatform;
let mojos: Record<MojoKind, H2oMojo>;

beforeAll(async () => {
  [platform, mojos] = await Promise.all([startTestPlatform(), h2oMojos()]);
}, 600_000);
afterAll(async () => {
  await platform?.stop();
});

async function ingest(bytes: Buffer, type: string) {
  const { projectId, experimentId } = await newProjectAndExperiment(platform.api, "mojo");
  const { artifactId } = await uploadArtifact(platform.api, projectId, experimentId, bytes, { type });
  const artifact = await waitForArtifact(platform.api, projectId, experimentId, artifactId);
  const experiment = await platform.api.call("GET", `/v1/projects/${projectId}/experiments/${experimentId}`);
  return { artifact, metadata: experiment.body.metadata };
}

const FEATURES = [
  { name: "age", type: "Float64" },
  { name: "income", type: "Float64" },
  { name: "color", type: "String" },
  { name: "member", type: "String" },
];

describe("h2o3/mojo ingestion", () => {
  it("writes a binomial MOJO's schema from model.ini: label then one probability per class", async () => {
    const { artifact, metadata } = await ingest(readFileSync(mojos.binomial.zip), "h2o3/mojo");
    expect(artifact).toMatchObject({ status: "READY", notices: [], model: null });
    expect(metadata).toMatchObject({
      input_schema: { json_value: FEATURES },
      output_schema: {
        json_value: [
          { name: "predict", type: "String" },
          { name: "approved.NO", type: "Float64" },
          { name: "approved.YES", type: "Float64" },
        ],
      },
      framework: { string_value: "h2o3" },
      h2o_version: { string_value: "3.46.0.6" },
      mojo_version: { string_value: "1.40" },
      h2o_algorithm: { string_value: "Gradient Boosting Machine" },
      h2o_model_category: { string_value: "Binomial" },
    });
  });

  it("names a multinomial MOJO's class outputs in the MOJO's domain order", async () => {
    const { metadata } = await ingest(readFileSync(mojos.multinomial.zip), "h2o3/mojo");
    const classes = mojos.multinomial.expected.predictionColumns.slice(1);
    expect(metadata.output_schema.json_value).toEqual([
      { name: "predict", type: "String" },
      ...classes.map((c) => ({ name: `segment.${c}`, type: "Float64" })),
    ]);
  });

  it("gives a regression MOJO one Float64 output", async () => {
    const { metadata } = await ingest(readFileSync(mojos.regression.zip), "h2o3/mojo");
    expect(metadata.input_schema.json_value).toEqual(FEATURES);
    expect(metadata.output_schema.json_value).toEqual([{ name: "predict", type: "Float64" }]);
  });

  it("fails a zip that is not a MOJO, saying what to upload", async () => {
    const { artifact } = await ingest(readFileSync((await mlflowZips()).column), "h2o3/mojo");
    expect(artifact.status).toBe("FAILED");
    expect(artifact.failureReason).toContain("no model.ini");
  });

  it("keeps a MOJO category the runtime does not serve READY with input_schema only and a notice", async () => {
    // A k-means MOJO's model.ini (H2O writes no response column for it).
    const modelIni = [
      "[info]",
      "h2o_version = 3.46.0.6",
      "mojo_version = 1.00",
      "algorithm = K-means",
      "category = Clustering",
      "n_features = 2",
      "",
      "[columns]",
      "x",
      "y",
      "",
      "[domains]",
      "",
    ].join("\n");
    const zip = buildZip([{ name: "model.ini", data: Buffer.from(modelIni) }]);
    const { artifact, metadata } = await ingest(zip, "h2o3/mojo");
    expect(artifact.status).toBe("READY");
    expect(artifact.notices.join(" ")).toContain("Clustering");
    expect(metadata.input_schema.json_value).toEqual([
      { name: "x", type: "Float64" },
      { name: "y", type: "Float64" },
    ]);
    expect(metadata.output_schema).toBeUndefined();
  });
});

describe("dai/mojo_pipeline ingestion", () => {
  it("is READY but carries a notice that it needs H2O's licensed runtime", async () => {
    const pipeline = buildZip([{ name: "mojo-pipeline/pipeline.mojo", data: Buffer.from("mojo") }]);
    const { artifact, metadata } = await ingest(pipeline, "dai/mojo_pipeline");
    expect(artifact.status).toBe("READY");
    expect(artifact.notices.join(" ")).toContain("licensed MOJO2 runtime");
    expect(metadata?.input_schema).toBeUndefined();
  });
});
