import { join } from "node:path";
import { freePort, startServerProcess } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { REPO_ROOT } from "./platform.ts";

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
 * versions (s3rver keeps none) and for CloudWatch, ECS, ELBv2, EFS, Application Auto Scaling and Secrets
 * Manager, which have no local product. Any access key is accepted.
 */
export async function startMotoServer(options: MotoOptions = {}): Promise<MotoServer> {
  const venv = await ensurePythonEnv("moto", [join(REPO_ROOT, "test/fixtures/moto-requirements.txt")]);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: "moto_server to answer",
    command: venv.bin("moto_server"),
    args: ["-H", "127.0.0.1", "-p", String(port)],
    env: options.env,
    ready: () =>
      fetch(`${endpoint}/moto-api/`).then(
        (r) => r.status < 500,
        () => false,
      ),
    timeoutMs: 60_000,
  });
  return { endpoint, stop: () => server.stop() };
}
