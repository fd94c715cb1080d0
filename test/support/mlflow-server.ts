import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "#cdk/paths.ts";
import { freePort, run, startServerProcess } from "#local/processes.ts";
import { mlflowVenv } from "./artifacts.ts";

export interface MlflowServer {
  readonly url: string;
  /**
   * Trains a scikit-learn model and registers it as `name` with the real MLflow client
   * (test/fixtures/register_mlflow_model.py); resolves to the version number, as a string.
   * `python`: an interpreter with mlflow and scikit-learn. @default the mlflow fixtures venv
   */
  registerModel(name: string, python?: string): Promise<string>;
  stop(): Promise<void>;
}

/** A real `mlflow server` on a loopback port, with its own SQLite store and artifact folder. */
export async function startMlflowServer(): Promise<MlflowServer> {
  const venv = await mlflowVenv();
  const dir = mkdtempSync(join(tmpdir(), "byom-mlflow-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: "mlflow server to answer /health",
    command: venv.bin("mlflow"),
    args: [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
      "--backend-store-uri",
      `sqlite:///${join(dir, "mlflow.db")}`,
      "--artifacts-destination",
      join(dir, "artifacts"),
    ],
    cwd: dir,
    ready: () =>
      fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      ),
    timeoutMs: 180_000,
    intervalMs: 500,
  }).catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    async registerModel(name, python = venv.python) {
      const script = join(REPO_ROOT, "test/fixtures/register_mlflow_model.py");
      const output = await run(python, [script, url, name]);
      return output.trim().split("\n").at(-1) as string;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
