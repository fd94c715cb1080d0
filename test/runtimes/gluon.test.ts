import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "#local/processes.ts";
import { ensureImageEnv } from "#local/python-env.ts";
import { score } from "../support/deployments.ts";
import { fixtureDir, fixturePath } from "../support/fixture-dir.ts";
import { REPO_ROOT } from "../support/platform.ts";
import { runProcessor, startRuntime } from "../support/runtime-process.ts";

/**
 * The legacy runtime family (numpy 1.23, MXNet 1.9.1, mlflow-skinny 1.29) serving a real Gluon
 * model saved by MLflow 1.29's gluon flavor, trained in that same environment: the scores are what
 * mlflow.pyfunc predicts in process.
 */
const SCRIPT = join(REPO_ROOT, "test/fixtures/make_gluon_model.py");
const REQUIREMENTS = join(REPO_ROOT, "runtime-images/legacy-runtime/requirements.txt");
let dir: string;
let scratch: string;

beforeAll(async () => {
  dir = fixturePath("gluon", [SCRIPT, REQUIREMENTS]);
  await fixtureDir(dir, ["gluon.zip", "expected.json"], async (into) => {
    const legacy = await ensureImageEnv("legacy-runtime");
    await run(legacy.python, [SCRIPT, into]);
  });
  scratch = mkdtempSync(join(tmpdir(), "byom-gluon-"));
}, 900_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("python-legacy-runtime", () => {
  it("serves an MLflow 1.29 gluon model with the predictions MLflow gives in process", async () => {
    const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
    expect(expected).toMatchObject({
      mxnetVersion: "1.9.1",
      mlflowVersion: "1.29.0",
      numpyVersion: "1.23.5",
    });
    const ready = join(scratch, "ready");
    const processed = await runProcessor("python-mlflow-processor", join(dir, "gluon.zip"), ready);
    expect(processed.code, processed.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(ready, "byom-model.json"), "utf8"));
    expect(manifest).toMatchObject({ framework: "gluon", loader: "mlflow" });

    const served = await startRuntime("python-legacy-runtime", ready, "gluon-1", { BYOM_WORKERS: "1" });
    try {
      const answer = await score(served.url, { fields: expected.fields, rows: expected.rows });
      const body = answer.body as { score: string[][]; fields: string[] };
      expect(answer.status, JSON.stringify(body)).toBe(200);
      expect(body.fields).toEqual(["prediction"]);
      // The same float32 values (the runtime and numpy may print a float32 with different digits).
      const float32 = (values: string[]) => values.map((v) => Math.fround(Number(v)));
      expect(float32(body.score.map((row) => row[0] as string))).toEqual(float32(expected.predictions));
    } finally {
      await served.stop();
    }
  }, 600_000);
});
