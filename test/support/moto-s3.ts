import { join } from "node:path";
import { freePort, startServerProcess } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { REPO_ROOT } from "./platform.ts";

export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * moto's server on a loopback port: S3 with object versions (s3rver keeps none), spoken to over the
 * real wire protocol. Any access key is accepted.
 */
export async function startMotoServer(): Promise<MotoServer> {
  const venv = await ensurePythonEnv("moto", [join(REPO_ROOT, "test/fixtures/moto-requirements.txt")]);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: "moto_server to answer",
    command: venv.bin("moto_server"),
    args: ["-H", "127.0.0.1", "-p", String(port)],
    ready: () =>
      fetch(`${endpoint}/moto-api/`).then(
        (r) => r.status < 500,
        () => false,
      ),
    timeoutMs: 60_000,
  });
  return { endpoint, stop: () => server.stop() };
}
