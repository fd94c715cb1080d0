import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployModels } from "../support/deployer.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { run } from "../support/python.ts";
import { buildSdkWheel, cleanVenvWithWheel, SDK_DIR } from "../support/python-sdk.ts";

const MiB = 1024 * 1024;

let platform: TestPlatform;
let work: string;
let python: string;
let modelsJson: string;
beforeAll(async () => {
  const models = await deployModels();
  modelsJson = JSON.stringify(models);
  // Small multipart thresholds so a few MiB make a multipart upload of several parts.
  platform = await startTestPlatform({
    BYOM_MULTIPART_THRESHOLD_BYTES: String(2 * MiB),
    BYOM_MULTIPART_PART_SIZE_BYTES: String(MiB),
  });
  work = mkdtempSync(join(tmpdir(), "byom-sdk-"));
  const wheel = await buildSdkWheel(join(work, "dist"));
  const venv = await cleanVenvWithWheel(
    join(work, "venv"),
    wheel,
    "pandas",
    join(SDK_DIR, "tests/requirements.txt"),
    ["pytest"],
  );
  python = venv.python;
}, 900_000);
afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("Python SDK", () => {
  it("has request and response types generated from the OpenAPI document the API serves", async () => {
    const served = await fetch(`${platform.config.apiUrl}/v1/openapi.json`);
    expect(served.status).toBe(200);
    const file = join(work, "openapi.json");
    writeFileSync(file, await served.text());
    // Exits 1 with a diff and the command to regenerate when byom/_api.py is stale.
    await run("python3", [join(SDK_DIR, "scripts/generate_api.py"), file, "--check"]);
  });

  it("passes its pytest suite against the local platform, installed from its wheel", async () => {
    const output = await run(
      python,
      ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(SDK_DIR, "tests")],
      { cwd: work, env: { BYOM_HOME: platform.home, BYOM_TEST_MODELS: modelsJson, BYOM_PASSPHRASE: "" } },
    ).catch((error: Error) => {
      throw new Error(`pytest failed:\n${error.message}`);
    });
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/failed|error|skipped/i);
  }, 1_200_000);
});
