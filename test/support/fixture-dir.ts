import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "#cdk/paths.ts";

/**
 * `.byom/test-fixtures/<name>-<hash>`, the hash over the files that build it (the script and its
 * pinned requirements), so a changed script or pin builds a new folder rather than reusing a stale one.
 */
export function fixturePath(name: string, builtBy: readonly string[]): string {
  const hash = createHash("sha256");
  for (const file of builtBy) hash.update(readFileSync(file));
  return join(REPO_ROOT, ".byom", "test-fixtures", `${name}-${hash.digest("hex").slice(0, 12)}`);
}

/**
 * Makes `dir` hold `files`, built by `build(into)` at most once per machine state. Test files run
 * in parallel workers, so the build writes into a private folder that is renamed into place: a
 * reader sees either no folder or a complete one, never a half-written zip.
 */
export async function fixtureDir(
  dir: string,
  files: readonly string[],
  build: (into: string) => Promise<void>,
): Promise<void> {
  const complete = () => files.every((file) => existsSync(join(dir, file)));
  if (complete()) return;
  const scratch = `${dir}.building-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(scratch, { recursive: true });
  try {
    await build(scratch);
    if (complete()) return; // another worker finished first
    rmSync(dir, { recursive: true, force: true }); // an incomplete folder from an interrupted run
    try {
      renameSync(scratch, dir);
    } catch (error) {
      if (!complete()) throw error; // lost the race to a worker that completed it: fine
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
