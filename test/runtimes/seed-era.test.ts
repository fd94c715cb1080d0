import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { fixtureDir, fixturePath } from "../support/fixture-dir.ts";
import { REPO_ROOT } from "../support/platform.ts";
import { runProcessor } from "../support/runtime-process.ts";

/**
 * Models from the seed's era (scikit-learn 1.1.3, MLflow 1.29), written by those versions in a
 * pinned venv (test/fixtures/seed-era-requirements.txt). The tabular runtime serves another
 * scikit-learn: a 1.1.3 GradientBoosting pickle does not even load there, and scikit-learn makes
 * no promise for the others. So both processors refuse them at deploy, naming the two versions
 * and the ways out, instead of serving numbers nobody checked.
 */
const SCRIPT = join(REPO_ROOT, "test/fixtures/make_seed_era_models.py");
const REQUIREMENTS = join(REPO_ROOT, "test/fixtures/seed-era-requirements.txt");
const PINNED = /^scikit-learn==(.+)$/m.exec(
  readFileSync(join(REPO_ROOT, "runtime-images/tabular-runtime/requirements.txt"), "utf8"),
)?.[1] as string;

let dir: string;
let scratch: string;

beforeAll(async () => {
  dir = fixturePath("seed-era", [SCRIPT, REQUIREMENTS]);
  const files = ["logreg", "gbm"].flatMap((m) => [
    `${m}-mlflow129.zip`,
    `${m}-sklearn113.joblib`,
    `${m}-sklearn113-zlib.joblib`,
  ]);
  await fixtureDir(dir, [...files, "expected.json"], async (into) => {
    const venv = await ensurePythonEnv("seed-era-fixtures", [REQUIREMENTS]);
    await run(venv.python, [SCRIPT, into]);
  });
  scratch = mkdtempSync(join(tmpdir(), "byom-seed-era-"));
}, 900_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const SCHEMA = JSON.stringify([
  { name: "age", type: "Int64" },
  { name: "income", type: "Float64" },
  { name: "score", type: "Float32" },
]);

function expectRefusal(result: { code: number; stderr: string }, resave: string) {
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain("saved with scikit-learn 1.1.3");
  expect(lines[0]).toContain(`python-tabular-runtime serves scikit-learn ${PINNED}`);
  expect(lines[0]).toContain(resave);
  expect(lines[0]).toContain("custom runtime image with scikit-learn 1.1.3 (POST /v1/catalog/runtimes");
}

describe.each(["logreg", "gbm"])("a scikit-learn 1.1.3 %s", (model) => {
  it("as an MLflow 1.29 model is refused by the MLflow processor, naming both versions", async () => {
    const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
    expect(expected).toMatchObject({ sklearnVersion: "1.1.3", mlflowVersion: "1.29.0" });
    const result = await runProcessor(
      "python-mlflow-processor",
      join(dir, `${model}-mlflow129.zip`),
      join(scratch, `${model}-mlflow`),
    );
    expectRefusal(result, "mlflow.sklearn.save_model");
  });

  it.each(["sklearn113", "sklearn113-zlib"])(
    "as a joblib pickle (%s) is refused without unpickling it",
    async (file) => {
      const result = await runProcessor(
        "python-pickle-processor",
        join(dir, `${model}-${file}.joblib`),
        join(scratch, `${model}-${file}`),
        { BYOM_FRAMEWORK: "sklearn", BYOM_INPUT_SCHEMA: SCHEMA },
      );
      expectRefusal(result, "joblib.dump");
    },
  );
});
