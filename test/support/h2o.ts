import { readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { fixtureDir, fixturePath } from "./fixture-dir.ts";
import { REPO_ROOT } from "./platform.ts";

export const MOJO_KINDS = ["binomial", "regression", "multinomial"] as const;
export type MojoKind = (typeof MOJO_KINDS)[number];

/** What H2O-3 predicted in process for the rows it scored (test/fixtures/make_h2o_mojos.py). */
export interface H2oPredictions {
  readonly response: string;
  readonly predictionColumns: string[];
  readonly fields: string[];
  readonly rows: string[][];
  readonly predictions: string[][];
  readonly h2oVersion: string;
}

export interface H2oMojo {
  readonly zip: string;
  readonly expected: H2oPredictions;
}

/**
 * Real MOJOs trained and exported by H2O-3 itself (PyPI `h2o`, pinned in
 * test/fixtures/h2o-requirements.txt; it runs its own JVM), with H2O's in-process predictions.
 * Built once and reused while the script and requirements are unchanged.
 */
export async function h2oMojos(): Promise<Record<MojoKind, H2oMojo>> {
  const script = join(REPO_ROOT, "test/fixtures/make_h2o_mojos.py");
  const requirements = join(REPO_ROOT, "test/fixtures/h2o-requirements.txt");
  const dir = fixturePath("h2o-mojos", [script, requirements]);
  const files = MOJO_KINDS.flatMap((kind) => [`${kind}.zip`, `${kind}.json`]);
  await fixtureDir(dir, files, async (into) => {
    const venv = await ensurePythonEnv("h2o-fixtures", [requirements]);
    await run(venv.python, [script, into]);
  });
  const load = (kind: MojoKind): H2oMojo => ({
    zip: join(dir, `${kind}.zip`),
    expected: JSON.parse(readFileSync(join(dir, `${kind}.json`), "utf8")) as H2oPredictions,
  });
  return { binomial: load("binomial"), regression: load("regression"), multinomial: load("multinomial") };
}
