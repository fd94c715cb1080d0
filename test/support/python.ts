import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withDirLock } from "#local/dir-lock.ts";
import { REPO_ROOT } from "./platform.ts";

/**
 * Python environments for test fixtures (the real `mlflow` package, an `mlflow server`). A venv lives
 * under `.byom/venvs/<name>-<hash of requirements>` and is reused once an install has finished.
 * (`local/python-env.ts` does the same for runtime images, keyed by image folder, not by file.)
 */
const VENVS_DIR = process.env.BYOM_VENVS_DIR ?? join(REPO_ROOT, ".byom", "venvs");
const READY_MARKER = ".byom-ready";

export interface TestVenv {
  readonly dir: string;
  readonly python: string;
  readonly bin: (name: string) => string;
}

export async function ensureTestVenv(name: string, requirementsFile: string): Promise<TestVenv> {
  const hash = createHash("sha256").update(readFileSync(requirementsFile)).digest("hex").slice(0, 12);
  const dir = join(VENVS_DIR, `${name}-${hash}`);
  const venv: TestVenv = { dir, python: join(dir, "bin", "python"), bin: (b) => join(dir, "bin", b) };
  if (existsSync(join(dir, READY_MARKER))) return venv;
  mkdirSync(VENVS_DIR, { recursive: true });
  return withDirLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, READY_MARKER))) return venv;
    rmSync(dir, { recursive: true, force: true });
    await run(process.env.BYOM_PYTHON ?? "python3", ["-m", "venv", dir]);
    await run(venv.python, ["-m", "pip", "install", "--quiet", "-r", requirementsFile]);
    writeFileSync(join(dir, READY_MARKER), "ok\n");
    return venv;
  });
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolvePromise(output)
        : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output.slice(-4000)}`)),
    );
  });
}
