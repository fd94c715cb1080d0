/**
 * The one set of process helpers local mode, the tests and the benchmarks share: a free loopback
 * port, a bounded wait for a condition, a command run to completion, and a long-running server
 * process whose log tail is kept for the error that explains why it did not come up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A free loopback port, found by binding port 0 (the caller's process binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value (not undefined), bounded by `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RunOptions {
  readonly cwd?: string;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Show the command's output as it runs instead of collecting it. */
  readonly inheritOutput?: boolean;
}

/**
 * Runs a command to completion and resolves to its output (stdout and stderr interleaved);
 * rejects with the output's tail when it fails, so the error says why.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: options.inheritOutput ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk;
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** A process to spawn: what `spawn(command, args, { env, cwd })` needs. */
export interface CommandSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment (nothing is inherited beyond it). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Spawns a command with inherited stdio, forwards SIGINT/SIGTERM, resolves to its exit code. */
export function runToExit(cmd: CommandSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, [...cmd.args], { env: cmd.env, cwd: cmd.cwd, stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    process.on("SIGINT", forward("SIGINT"));
    process.on("SIGTERM", forward("SIGTERM"));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  /** The last 8 kB of its stderr. */
  log(): string;
  /** SIGTERM to its process group; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a server in a process group of its own (so stop() also ends its workers) and resolves
 * once `ready()` is true; rejects with its stderr tail if it exits or is not ready in time.
 */
export async function startServerProcess(options: {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly ready: () => Promise<boolean>;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}): Promise<ServerProcess> {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-8000);
  });
  const server: ServerProcess = {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        const exited = new Promise((done) => child.once("exit", done));
        process.kill(-child.pid, "SIGTERM");
        await exited;
      }
    },
  };
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  try {
    await spawned;
    await waitFor(
      options.name,
      async () => {
        if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}`);
        return (await options.ready()) ? true : undefined;
      },
      options.timeoutMs,
      options.intervalMs,
    );
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}:\n${log}`);
  }
  return server;
}
