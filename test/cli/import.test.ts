import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, run } from "#local/processes.ts";
import { mlflowVenv } from "../support/artifacts.ts";
import { runCli } from "../support/cli.ts";
import { type MlflowServer, startMlflowServer } from "../support/mlflow-server.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let mlflow: MlflowServer;
let version: string;
let env: Record<string, string>;

beforeAll(async () => {
  [platform, mlflow] = await Promise.all([startTestPlatform(), startMlflowServer()]);
  // A model trained and registered in the MLflow server by the real MLflow client.
  const venv = await mlflowVenv();
  const out = await run(venv.python, [
    join(REPO_ROOT, "test/fixtures/register_mlflow_model.py"),
    mlflow.url,
    "churn",
  ]);
  version = out.trim().split("\n").at(-1) as string;
  env = { BYOM_HOME: platform.home };
  await platform.api.call("POST", "/v1/projects", { name: "cli-imports" });
}, 600_000);
afterAll(async () => {
  await Promise.all([platform?.stop(), mlflow?.stop()]);
});

const byom = (...args: string[]) => runCli(args, { env, timeoutMs: 300_000 });

describe("byom import-mlflow", () => {
  it("imports a registered version, waits for ingestion and prints its schema", async () => {
    const result = await byom(
      "import-mlflow",
      "--project",
      "cli-imports",
      "--tracking-uri",
      mlflow.url,
      "--model",
      "churn",
      "--version",
      version,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("is READY (sklearn");
    expect(result.stdout).toMatch(/Input schema:\nCOLUMN\s+TYPE\ntenure\s+Int64\ncharges\s+Float64/);

    const shown = await byom(
      "experiments",
      "show",
      `churn v${version}`,
      "--project",
      "cli-imports",
      "--json",
    );
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json().metadata).toMatchObject({
      source_model_name: { string_value: "churn" },
      source_model_version: { string_value: version },
    });
  }, 300_000);

  it("shows the server's message when the model or the server does not exist", async () => {
    const missing = await byom(
      "import-mlflow",
      "--project",
      "cli-imports",
      "--tracking-uri",
      mlflow.url,
      "--model",
      "no-such-model",
      "--version",
      "1",
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no-such-model");

    const unreachable = await byom(
      "import-mlflow",
      "--project",
      "cli-imports",
      "--tracking-uri",
      `http://127.0.0.1:${await freePort()}`,
      "--model",
      "churn",
      "--version",
      "1",
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("HTTP 502");

    const usage = await byom(
      "import-mlflow",
      "--project",
      "cli-imports",
      "--model",
      "churn",
      "--version",
      "1",
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("Missing --tracking-uri");
  }, 300_000);
});
