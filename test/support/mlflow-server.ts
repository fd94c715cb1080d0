import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, mlflowVenv } from "./artifacts.ts";

export interface MlflowServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** A real `mlflow server` on a loopback port, with its own SQLite store and artifact folder. */
export async function startMlflowServer(): Promise<MlflowServer> {
  const venv = await mlflowVenv();
  const dir = mkdtempSync(join(tmpdir(), "byom-mlflow-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    venv.bin("mlflow"),
    [
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
    { cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-8000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited with ${child.exitCode}:\n${log}`);
    const healthy = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`mlflow server did not answer /health in 180 s:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((done) => child.once("exit", done));
        process.kill(-child.pid, "SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
