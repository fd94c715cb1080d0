import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startServerProcess } from "#local/processes.ts";
import { mlflowVenv } from "./artifacts.ts";

export interface MlflowServer {
  readonly url: string;
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
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
