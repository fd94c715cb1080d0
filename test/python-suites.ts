/**
 * `npm run test:py`: installs (or reuses) each image's pinned venv plus a test layer, then runs
 * the pytest suites with processors and runtimes as real processes in their own venvs.
 * BYOM_PY_FAMILIES=tabular,pytorch,tensorflow (the default) picks the runtime families.
 */
import { join } from "node:path";
import { REPO_ROOT } from "#cdk/paths.ts";
import { runToExit } from "#local/processes.ts";
import { ensureImageEnv, ensurePythonEnv, PYTHON_SOURCE_DIR } from "#local/python-env.ts";

const FAMILIES: Record<string, { image: string; tests: string[]; tritonClient?: boolean }> = {
  tabular: {
    image: "tabular-runtime",
    tritonClient: true,
    tests: [
      "tests/test_convert.py",
      "tests/test_formats.py",
      "tests/test_metrics.py",
      "tests/test_peer.py",
      "tests/test_processors.py",
      "tests/test_scorer_api.py",
      "tests/test_shadow.py",
      "tests/test_tabular_frameworks.py",
      "tests/test_v2.py",
      "tests/test_capture.py",
    ],
  },
  pytorch: { image: "pytorch-runtime", tests: ["tests/test_pytorch_frameworks.py"] },
  tensorflow: { image: "tensorflow-runtime", tests: ["tests/test_tensorflow_frameworks.py"] },
};

const selected = (process.env.BYOM_PY_FAMILIES ?? Object.keys(FAMILIES).join(","))
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);
const extraArgs = process.argv.slice(2);

const started = Date.now();
const processors = {
  BYOM_MLFLOW_PROCESSOR_PYTHON: (await ensureImageEnv("mlflow-processor")).python,
  BYOM_PICKLE_PROCESSOR_PYTHON: (await ensureImageEnv("pickle-processor")).python,
};
let failed = 0;
for (const name of selected) {
  const family = FAMILIES[name];
  if (!family) throw new Error(`unknown family ${name}; known: ${Object.keys(FAMILIES).join(", ")}`);
  const familyStart = Date.now();
  const runtime = await ensureImageEnv(family.image);
  const tester = await ensureImageEnv(family.image, { withTestTools: true });
  process.stderr.write(
    `byom: ${name} environments ready in ${((Date.now() - familyStart) / 1000).toFixed(1)} s\n`,
  );
  // The V2 tests score with the real tritonclient, from a venv of its own (its pins clash with
  // TensorFlow's in the shared test layer).
  const tritonClient = family.tritonClient
    ? (
        await ensurePythonEnv("tritonclient", [
          join(PYTHON_SOURCE_DIR, "tests", "requirements-tritonclient.txt"),
        ])
      ).python
    : undefined;
  const code = await runToExit({
    command: tester.python,
    args: ["-m", "pytest", "-q", "-p", "no:cacheprovider", ...family.tests, ...extraArgs],
    cwd: PYTHON_SOURCE_DIR,
    env: {
      ...(process.env as Record<string, string>),
      ...processors,
      BYOM_RUNTIME_PYTHON: runtime.python,
      ...(tritonClient ? { BYOM_TRITONCLIENT_PYTHON: tritonClient } : {}),
      PYTHONPATH: PYTHON_SOURCE_DIR,
      MLFLOW_TRACKING_URI: `file://${join(REPO_ROOT, ".byom", "mlruns")}`,
    },
  });
  if (code !== 0) failed += 1;
}
process.stderr.write(`byom: python suites done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.exit(failed ? 1 : 0);
