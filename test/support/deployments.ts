import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { run, waitFor } from "#local/processes.ts";
import { prepareImage } from "#local/python-env.ts";
import { PREPARED_IMAGES } from "#local/serving-workflows.ts";
import { MLFLOW_REQUIREMENTS, mlflowVenv } from "./artifacts.ts";
import { fixtureDir, fixturePath } from "./fixture-dir.ts";
import { type ApiClient, REPO_ROOT, s3ClientFor, startTestPlatform, type TestPlatform } from "./platform.ts";

export interface DeployModels {
  readonly v1: string;
  readonly v2: string;
  readonly noSignature: string;
  readonly padded: string;
  readonly brokenLoader: string;
  /** Rows to score and what each model's own in-process predict returns for them. */
  readonly expected: { fields: string[]; rows: unknown[][]; v1: string[]; v2: string[] };
}

/**
 * Two scikit-learn MLflow model zips and their in-process predictions, written by the real mlflow
 * package (test/fixtures/make_deploy_models.py), built once while the script and pins are unchanged.
 */
export async function deployModels(): Promise<DeployModels> {
  // The processor and runtime venvs, created once per machine (minutes on a fresh one), before any
  // workflow waits for them.
  for (const image of PREPARED_IMAGES) await prepareImage(image);
  const script = join(REPO_ROOT, "test/fixtures/make_deploy_models.py");
  const dir = fixturePath("deploy-models", [script, MLFLOW_REQUIREMENTS]);
  const files = {
    v1: join(dir, "v1.zip"),
    v2: join(dir, "v2.zip"),
    noSignature: join(dir, "no-signature.zip"),
    padded: join(dir, "padded.zip"),
    brokenLoader: join(dir, "broken-loader.zip"),
    expected: join(dir, "expected.json"),
  };
  await fixtureDir(
    dir,
    Object.values(files).map((file) => basename(file)),
    async (into) => {
      const venv = await mlflowVenv();
      await run(venv.python, [script, into]);
    },
  );
  return { ...files, expected: JSON.parse(readFileSync(files.expected, "utf8")) };
}

/** What every deployer test starts from: a platform, a project and a model "churn" in it. */
export interface ServingFixture {
  readonly platform: TestPlatform;
  readonly models: DeployModels;
  readonly projectId: string;
  readonly modelId: string;
}

/**
 * The deployer tests' shared set-up: the model zips, local mode (with `env`, and in the data folder
 * `home` when given, kept on stop), a project named `project` holding the model "churn", and
 * `versions` of it registered from the drop folder (dropped as `churn-<key>`). Stop it with
 * `fixture.platform.stop()`.
 */
export async function startServingFixture(
  project: string,
  options: {
    readonly env?: Record<string, string>;
    readonly home?: string;
    readonly versions?: ReadonlyArray<"v1" | "v2">;
  } = {},
): Promise<ServingFixture> {
  const models = await deployModels();
  const platform = await startTestPlatform(options.env, options.home);
  const created = await platform.api.call("POST", "/v1/projects", { name: project });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const projectId = created.body.projectId as string;
  const model = await platform.api.call("POST", `/v1/projects/${projectId}/models`, { name: "churn" });
  expect(model.status, JSON.stringify(model.body)).toBe(201);
  const modelId = model.body.modelId as string;
  for (const key of options.versions ?? []) {
    await registerDropped(platform, projectId, modelId, `churn-${key}`, models[key]);
  }
  return { platform, models, projectId, modelId };
}

/** Writes a zip to the S3 drop folder, as a user's `aws s3 cp` would. */
export async function dropModel(
  platform: TestPlatform,
  projectId: string,
  name: string,
  zip: string,
): Promise<void> {
  const s3 = await s3ClientFor(platform.config);
  await s3.send(
    new PutObjectCommand({
      Bucket: platform.config.bucket,
      Key: `drop/${projectId}/${name}.zip`,
      Body: readFileSync(zip),
    }),
  );
  s3.destroy();
}

/** The experiment the drop folder created for `name`, once its artifact is READY. */
export async function waitForDroppedExperiment(
  api: ApiClient,
  projectId: string,
  name: string,
): Promise<any> {
  return waitFor(
    `experiment ${name} with a READY artifact`,
    async () => {
      const list = await api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`);
      const experiment = list.body.items?.find((e: { name: string }) => e.name === name);
      if (!experiment) return undefined;
      const artifacts = await api.call(
        "GET",
        `/v1/projects/${projectId}/experiments/${experiment.experimentId}/artifacts`,
      );
      const statuses = (artifacts.body.items ?? []).map((a: { status: string }) => a.status);
      if (statuses.includes("FAILED"))
        throw new Error(`artifact of ${name} FAILED: ${JSON.stringify(artifacts.body)}`);
      if (!statuses.includes("READY")) return undefined;
      return (await api.call("GET", `/v1/projects/${projectId}/experiments/${experiment.experimentId}`)).body;
    },
    60_000,
  );
}

/** Drops a zip, waits for its experiment and registers it as the model's next version. */
export async function registerDropped(
  platform: TestPlatform,
  projectId: string,
  modelId: string,
  name: string,
  zip: string,
): Promise<{ experiment: any; version: number }> {
  await dropModel(platform, projectId, name, zip);
  const experiment = await waitForDroppedExperiment(platform.api, projectId, name);
  const registered = await platform.api.call("POST", `/v1/projects/${projectId}/models/${modelId}/versions`, {
    experimentId: experiment.experimentId,
  });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  return { experiment, version: registered.body.version };
}

export async function waitForStatus(
  api: ApiClient,
  projectId: string,
  deploymentId: string,
  statuses: readonly string[],
  timeoutMs = 120_000,
): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      `deployment ${deploymentId} to be ${statuses.join(" or ")}`,
      async () => {
        const got = await api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}`);
        last = got.body;
        return statuses.includes(got.body?.status) ? got.body : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export async function score(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/model/score`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, body: parsed };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** How many runtime processes local mode runs now (its `<home>/services.json`). */
export function runtimeProcesses(platform: TestPlatform): number {
  return (JSON.parse(readFileSync(join(platform.home, "services.json"), "utf8")) as unknown[]).length;
}
