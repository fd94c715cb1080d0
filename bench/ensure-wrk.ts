import { spawnSync } from "node:child_process";

/** wrk, the load generator of bench:scorer and bench:mojo: installed from Debian when missing. */
export function ensureWrk(): void {
  if (spawnSync("wrk", ["--version"]).error === undefined) return;
  process.stderr.write("bench: installing wrk (Debian package)\n");
  spawnSync("apt-get", ["install", "-y", "-q", "wrk"], { stdio: "inherit" });
  if (spawnSync("wrk", ["--version"]).error !== undefined)
    throw new Error("wrk is not installed and `apt-get install wrk` did not install it");
}
