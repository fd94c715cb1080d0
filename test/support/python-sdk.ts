import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "#local/processes.ts";
import { REPO_ROOT } from "./platform.ts";

export const SDK_DIR = join(REPO_ROOT, "client/python");
const PYTHON = process.env.BYOM_PYTHON ?? "python3";

/**
 * Builds the Python SDK's wheel from a copy of client/python (so the build leaves no build/ or
 * egg-info in the repository) and returns its path, under `into`.
 */
export async function buildSdkWheel(into: string): Promise<string> {
  const source = mkdtempSync(join(tmpdir(), "byom-sdk-src-"));
  try {
    cpSync(SDK_DIR, source, {
      recursive: true,
      filter: (path) => !/(__pycache__|\.pytest_cache|\.egg-info|\/build$|\/dist$)/.test(path),
    });
    await run(PYTHON, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", into, source]);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  const wheel = readdirSync(into).find((name) => /^byom-.*\.whl$/.test(name));
  if (!wheel) throw new Error(`no byom wheel was built in ${into}`);
  return join(into, wheel);
}

/** A fresh venv in `dir` with the wheel installed as a user would (`pip install byom[extras]`). */
export async function cleanVenvWithWheel(
  dir: string,
  wheel: string,
  extras: string,
  constraints: string,
  more: readonly string[] = [],
): Promise<{ python: string; bin: (name: string) => string }> {
  await run(PYTHON, ["-m", "venv", dir]);
  const python = join(dir, "bin", "python");
  await run(python, ["-m", "pip", "install", "--quiet", "-c", constraints, `${wheel}[${extras}]`, ...more]);
  return { python, bin: (name) => join(dir, "bin", name) };
}
