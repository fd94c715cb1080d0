import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "#local/processes.ts";
import { runCli } from "../support/cli.ts";
import { type MlflowServer, startMlflowServer } from "../support/mlflow-server.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let mlflow: MlflowServer;
let version: string;
let env: Record<string, string>;

beforeAll(async () => {
  [platform, mlflow] = await Promise.all([startTestPlatform(), startMlflowServer()]);
  // A model trained and registered by the real MLflow client.
  version = await mlflow.registerModel("churn");
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
    // The import is a job: its progress lines, then ingestion.
    expect(result.stderr).toMatch(/Waiting for job job-\S+ …/);
    expect(result.stderr).toMatch(/succeeded: \d+ file\(s\), \d+ bytes copied/);
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
    expect(unreachable.stderr).toMatch(
      /Job job-\S+ \(import-mlflow\) failed: The MLflow tracking server at http:\/\/127\.0\.0\.1:\d+ is unreachable/,
    );

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
