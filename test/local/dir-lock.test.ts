import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withDirLock } from "#local/dir-lock.ts";

const fresh = () => join(mkdtempSync(join(tmpdir(), "byom-lock-")), "venv.lock");

/** The pid of a process that has exited (so `kill(pid, 0)` answers ESRCH). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("withDirLock", () => {
  it("serialises work and removes the lock after it", async () => {
    const lock = fresh();
    const order: string[] = [];
    const slow = withDirLock(lock, async () => {
      order.push("a start");
      await new Promise((r) => setTimeout(r, 700));
      order.push("a end");
    });
    await new Promise((r) => setTimeout(r, 50));
    await withDirLock(lock, async () => {
      order.push("b");
    });
    await slow;
    expect(order).toEqual(["a start", "a end", "b"]);
    expect(existsSync(lock)).toBe(false);
  });

  it("takes over at once a lock whose owner process died (a killed first install)", async () => {
    const lock = fresh();
    mkdirSync(lock);
    writeFileSync(join(lock, "owner"), `${deadPid()}\n`);
    const started = Date.now();
    expect(await withDirLock(lock, async () => "ran")).toBe("ran");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("takes over an ownerless lock once it is older than the grace period, not before", async () => {
    const lock = fresh();
    mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await withDirLock(lock, async () => "ran")).toBe("ran");
  });

  it("waits for a lock whose owner is alive", async () => {
    const lock = fresh();
    mkdirSync(lock);
    writeFileSync(join(lock, "owner"), `${process.pid}\n`);
    let ran = false;
    const waiting = withDirLock(lock, async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(ran).toBe(false);
    rmSync(lock, { recursive: true });
    await waiting;
    expect(ran).toBe(true);
  });
});
