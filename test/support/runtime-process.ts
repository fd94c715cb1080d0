import { type ChildProcess, spawn } from "node:child_process";
import { freePort, waitFor } from "#local/processes.ts";
import { processorCommand, runtimeCommand } from "#local/python-env.ts";

/**
 * A built-in processor and runtime as local mode runs them (local/python-env.ts: the image's venv,
 * or the Java image's jar), for tests that talk to a runtime over real HTTP.
 */
export async function runProcessor(
  processor: string,
  sourcePath: string,
  targetPath: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const command = await processorCommand(processor, { sourcePath, targetPath, env });
  return new Promise((resolve, reject) => {
    const child = spawn(command.command, [...command.args], {
      env: command.env as NodeJS.ProcessEnv,
      cwd: command.cwd,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, stderr }));
  });
}

export interface RunningRuntime {
  readonly url: string;
  readonly child: ChildProcess;
  /** What the process wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a runtime on a free loopback port and waits (bounded) until /readyz answers 200. */
export async function startRuntime(
  runtime: string,
  modelPath: string,
  modelId: string,
  env: Record<string, string> = {},
  readyTimeoutMs = 180_000,
): Promise<RunningRuntime> {
  const port = await freePort();
  const command = await runtimeCommand(runtime, {
    modelPath,
    modelId,
    port,
    env: { BYOM_HOST: "127.0.0.1", ...env },
  });
  const child = spawn(command.command, [...command.args], {
    env: command.env as NodeJS.ProcessEnv,
    cwd: command.cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const running: RunningRuntime = {
    url,
    child,
    log: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
  try {
    await waitFor(
      `${runtime} to answer /readyz`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${runtime} exited ${child.exitCode}: ${stderr}`);
        const answer = await fetch(`${url}/readyz`).catch(() => undefined);
        return answer?.status === 200 ? true : undefined;
      },
      readyTimeoutMs,
    );
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
