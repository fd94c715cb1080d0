import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { RuntimeSupervisor } from "#local/runtime-supervisor.ts";

// A venvs folder of this test's own, set before python-env.ts reads it at load.
const scratch = mkdtempSync(join(tmpdir(), "byom-env-progress-"));
process.env.BYOM_VENVS_DIR = join(scratch, "venvs");
const { ensurePythonEnv, environmentPreparation } = await import("#local/python-env.ts");

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("preparing a Python environment", () => {
  it("says which step it is at while it installs, and nothing once it is ready", async () => {
    const requirements = join(scratch, "requirements.txt");
    writeFileSync(requirements, "# nothing to install: the steps are what this test is about\n");
    const seen = new Set<string>();
    const installing = ensurePythonEnv("progress-probe", [requirements]);
    let done = false;
    void installing.finally(() => {
      done = true;
    });
    while (!done) {
      const step = environmentPreparation("progress-probe");
      if (step) seen.add(step);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const env = await installing;
    expect([...seen]).toEqual(
      expect.arrayContaining([
        "installing the Python environment of progress-probe (step 1 of 2: creating the venv)",
        "installing the Python environment of progress-probe (step 2 of 2: pip installs 0 packages, once per machine; this can take minutes)",
      ]),
    );
    expect(env.venvDir.startsWith(join(scratch, "venvs"))).toBe(true);
    expect(environmentPreparation("progress-probe")).toBeUndefined();
    // Ready: a second call reuses it and says nothing.
    await ensurePythonEnv("progress-probe", [requirements]);
    expect(environmentPreparation("progress-probe")).toBeUndefined();
  });

  it("is what a supervised runtime reports while its command is being prepared", async () => {
    const supervisor = new RuntimeSupervisor(join(scratch, "home"));
    let step: string | undefined = "installing the Python environment of tabular-runtime (step 2 of 2: …)";
    const never = new Promise<never>(() => {});
    await supervisor.start("svc-preparing", () => never, { preparation: () => step });
    expect(supervisor.status("svc-preparing")?.lastExit).toBe(
      "is installing the Python environment of tabular-runtime (step 2 of 2: …)",
    );
    // Another process holds the install, or it has not begun: the general words remain.
    step = undefined;
    expect(supervisor.status("svc-preparing")?.lastExit).toMatch(/^is preparing its Python environment/);
    // Its log opens asynchronously: let it, so removing the folder afterwards races nothing.
    const log = join(scratch, "home", "logs", "services", "svc-preparing.log");
    await waitFor("the service's log", async () => existsSync(log) || undefined, 5_000, 10);
    await supervisor.stop("svc-preparing");
  });
});
