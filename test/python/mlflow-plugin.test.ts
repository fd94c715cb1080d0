import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "#local/processes.ts";
import { ensurePythonEnv, type PythonEnv } from "#local/python-env.ts";
import { deployModels } from "../support/deployments.ts";
import { type MlflowServer, startMlflowServer } from "../support/mlflow-server.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { buildSdkWheel, SDK_DIR } from "../support/python-sdk.ts";

let platform: TestPlatform;
let mlflow: MlflowServer;
let venv: PythonEnv;
let work: string;
let env: Record<string, string>;
beforeAll(async () => {
  await deployModels(); // the processor and runtime venvs the deployments need
  [platform, mlflow] = await Promise.all([startTestPlatform(), startMlflowServer()]);
  work = mkdtempSync(join(tmpdir(), "byom-mlflow-plugin-"));
  // The real mlflow with the SDK's dependencies, cached by its pins; the wheel built now goes in
  // on every run, so what is tested is this checkout's package and its entry point.
  venv = await ensurePythonEnv("mlflow-byom", [join(SDK_DIR, "tests/mlflow-requirements.txt")]);
  const wheel = await buildSdkWheel(join(work, "dist"));
  await run(venv.python, ["-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel]);
  await run(venv.python, ["-m", "pip", "check"]);
  env = { MLFLOW_TRACKING_URI: mlflow.url, BYOM_HOME: platform.home, BYOM_API_URL: "", BYOM_PASSPHRASE: "" };
}, 1_200_000);
afterAll(async () => {
  await Promise.all([platform?.stop(), mlflow?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the real `mlflow deployments` CLI; resolves to its exit code and output either way. */
function deployments(...args: string[]): Promise<{ code: number; output: string }> {
  return deploymentsWith(env, ...args);
}

function deploymentsWith(
  environment: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; output: string }> {
  return run(venv.bin("mlflow"), ["deployments", ...args], { cwd: work, env: environment }).then(
    (output) => ({ code: 0, output }),
    (error: Error) => ({ code: 1, output: error.message }),
  );
}

/** What the model's own in-process predict says for rows.json (the real mlflow pyfunc loader). */
async function inProcess(modelUri: string, rows: string): Promise<number[]> {
  const script = [
    "import json, sys, mlflow, pandas as pd",
    "frame = pd.read_json(sys.argv[2])",
    "print(json.dumps([int(v) for v in mlflow.pyfunc.load_model(sys.argv[1]).predict(frame)]))",
  ].join("\n");
  const output = await run(venv.python, ["-c", script, modelUri, rows], { env });
  return JSON.parse(output.trim().split("\n").at(-1) as string);
}

describe("the byom target of mlflow deployments", () => {
  it("creates, lists, gets, predicts, updates and deletes through the real mlflow CLI", async () => {
    for (let i = 0; i < 2; i++) await mlflow.registerModel("plugin-churn", venv.python);
    const help = await deployments("help", "-t", "byom");
    expect(help.output).toContain("-C project=");
    const noProject = await deployments(
      "create",
      "-t",
      "byom",
      "-m",
      "models:/plugin-churn/1",
      "--name",
      "x",
    );
    expect(noProject.code).toBe(1);
    expect(noProject.output).toContain("Which Byom project?");

    const created = await deployments(
      "create",
      "-t",
      "byom",
      "-m",
      "models:/plugin-churn/1",
      "--name",
      "churn",
      "-C",
      "project=plugin",
      "-C",
      "cpu=0.5",
      "-C",
      "memory_mib=1024",
    );
    expect(created.code, created.output).toBe(0);
    expect(created.output).toContain("python_function deployment churn is created");

    const listed = await deployments("list", "-t", "byom:/plugin");
    expect(listed.output).toContain("'name': 'churn'");
    const got = await deployments("get", "-t", "byom:/plugin", "--name", "churn");
    expect(got.output).toContain("status: HEALTHY");
    expect(got.output).toContain("serving: ['plugin-churn@1']");
    const size = "{'cpu': '0.5', 'memoryMiB': 1024, 'replicas': {'min': 1, 'max': 1}}";
    expect(got.output).toContain(`resources: [${size}]`);

    // A size Fargate does not run: the API's refusal, and the deployment is left as it was.
    const tooSmall = await deployments(
      "update",
      "-t",
      "byom:/plugin",
      "--name",
      "churn",
      "-C",
      "cpu=0.25",
      "-C",
      "memory_mib=4096",
    );
    expect(tooSmall.code).toBe(1);
    expect(tooSmall.output).toContain("VALIDATION_FAILED");
    expect(tooSmall.output).toContain("Fargate runs 0.25 vCPU with 512, 1024, 2048 MiB");

    const rows = join(work, "rows.json");
    const frame = Array.from({ length: 30 }, (_, i) => ({ tenure: (i * 7) % 72, charges: 40 + i * 2.5 }));
    writeFileSync(rows, JSON.stringify(frame));
    const out = join(work, "out.json");
    const predicted = await deployments(
      "predict",
      "-t",
      "byom:/plugin",
      "--name",
      "churn",
      "--input-path",
      rows,
      "--output-path",
      out,
    );
    expect(predicted.code, predicted.output).toBe(0);
    const answer = JSON.parse(readFileSync(out, "utf8")) as { predictions: { prediction: number }[] };
    expect(answer.predictions.map((p) => p.prediction)).toEqual(
      await inProcess("models:/plugin-churn/1", rows),
    );

    const again = await deployments(
      "create",
      "-t",
      "byom:/plugin",
      "-m",
      "models:/plugin-churn/1",
      "--name",
      "churn",
    );
    expect(again.code).toBe(1);
    expect(again.output).toContain("already exists");

    const updated = await deployments(
      "update",
      "-t",
      "byom:/plugin",
      "--name",
      "churn",
      "-m",
      "models:/plugin-churn/2",
    );
    expect(updated.code, updated.output).toBe(0);
    const swapped = (await deployments("get", "-t", "byom:/plugin", "--name", "churn")).output;
    expect(swapped).toContain("serving: ['plugin-churn@2']");
    expect(swapped).toContain(`resources: [${size}]`); // the new version keeps the size

    const deleted = await deployments("delete", "-t", "byom:/plugin", "--name", "churn");
    expect(deleted.code, deleted.output).toBe(0);
    const gone = await deployments("get", "-t", "byom:/plugin", "--name", "churn");
    expect(gone.code).toBe(1);
    expect(gone.output).toContain("No deployment named 'churn'");

    // run-local deploys to local mode on this machine even when an AWS API is configured.
    const local = await deploymentsWith(
      { ...env, BYOM_API_URL: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod" },
      "run-local",
      "-t",
      "byom",
      "-m",
      "models:/plugin-churn/2",
      "--name",
      "local-churn",
      "-C",
      "project=plugin",
    );
    expect(local.code, local.output).toBe(0);
    expect(local.output).toMatch(
      /Deployment local-churn serves at http:\/\/127\.0\.0\.1:\d+\/dep-\w+\/model\/score/,
    );
    expect((await deployments("delete", "-t", "byom:/plugin", "--name", "local-churn")).code).toBe(0);
  }, 1_200_000);

  it("runs docs/python.md's notebook walkthrough, block by block in one process", async () => {
    const doc = readFileSync(join(REPO_ROOT, "docs/python.md"), "utf8");
    const blocks = [...doc.matchAll(/```python\n([\s\S]*?)```/g)].map((match) => match[1] as string);
    expect(blocks.length).toBeGreaterThan(4);
    const script = join(work, "walkthrough.py");
    writeFileSync(script, blocks.join("\n"));
    const output = await run(venv.python, [script], { cwd: work, env });
    expect(output).toContain("HEALTHY");
  }, 1_200_000);
});
