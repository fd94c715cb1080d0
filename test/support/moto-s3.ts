import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./artifacts.ts";
import { REPO_ROOT } from "./platform.ts";
import { ensureTestVenv } from "./python.ts";

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** moto's own settings, e.g. MOTO_ECS_SERVICE_RUNNING (the runningCount it reports per service). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * moto's server on a loopback port, every service moto implements on one endpoint, spoken to over
 * the real wire protocol (point the SDK at it with AWS_ENDPOINT_URL). Used for S3 with object
 * versions (s3rver keeps none) and for ECS, ELBv2, EFS, Application Auto Scaling and Secrets
 * Manager, which have no local product. Any access key is accepted.
 */
export async function startMotoServer(options: MotoOptions = {}): Promise<MotoServer> {
  const venv = await ensureTestVenv("moto", join(REPO_ROOT, "test/fixtures/moto-requirements.txt"));
  const port = await freePort();
  const child: ChildProcess = spawn(venv.bin("moto_server"), ["-H", "127.0.0.1", "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-8000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}:\n${log}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`moto_server did not answer in 60 s:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((done) => child.once("exit", done));
        process.kill(-child.pid, "SIGTERM");
        await exited;
      }
    },
  };
}
