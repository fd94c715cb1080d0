import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

const OWNER_FILE = "owner";
/** A lock dir without an owner file is being created; after this long its creator is gone. */
const OWNERLESS_GRACE_MS = 10_000;

/**
 * Runs `work` holding a lock shared between processes: the directory `lockDir`, made atomically by
 * mkdir, with the owner's pid inside. A lock whose owner has died (a Ctrl-C during a first venv
 * install, a killed test run) is taken over at once instead of blocking everyone for `staleMs`;
 * one older than `staleMs` is taken over whatever its owner.
 */
export async function withDirLock<T>(
  lockDir: string,
  work: () => Promise<T>,
  staleMs = 30 * 60_000,
): Promise<T> {
  const deadline = Date.now() + staleMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, OWNER_FILE), `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if ((await abandoned(lockDir, staleMs)) || Date.now() > deadline) {
        await rm(lockDir, { recursive: true, force: true });
      } else {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function abandoned(lockDir: string, staleMs: number): Promise<boolean> {
  const info = await stat(lockDir).catch(() => undefined);
  if (!info) return false; // released meanwhile: try again
  const age = Date.now() - info.mtimeMs;
  if (age > staleMs) return true;
  const owner = Number.parseInt(await readFile(join(lockDir, OWNER_FILE), "utf8").catch(() => ""), 10);
  if (!Number.isInteger(owner) || owner <= 0) return age > OWNERLESS_GRACE_MS;
  try {
    process.kill(owner, 0); // signal 0: only asks whether the process exists
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
