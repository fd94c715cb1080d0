import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "#local/processes.ts";
import { deployModels } from "../support/deployments.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { buildSdkWheel, cleanVenvWithWheel, SDK_DIR } from "../support/python-sdk.ts";
import { EXAMPLE_AWS_ENV, expectSignedOverWhatArrived, startRecordingProjectsApi } from "../support/sigv4.ts";

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

  it("signs with SigV4 (botocore) on AWS, and the signature verifies over what arrived", async () => {
    const api = await startRecordingProjectsApi();
    try {
      const script =
        "import byom; c = byom.Client(); c.projects.create('aws'); print([p.id for p in c.projects.list()])";
      const output = await run(python, ["-c", script], {
        cwd: work,
        env: {
          ...EXAMPLE_AWS_ENV,
          BYOM_API_URL: api.url,
          AWS_REGION: "eu-west-1",
          BYOM_TOKEN: "",
        },
      });
      expect(output).toContain("prj-00000000000000000000000000");
      expect(api.received.map((r) => `${r.method} ${r.url}`)).toEqual([
        "POST /prod/v1/projects",
        "GET /prod/v1/projects?limit=100",
      ]);
      // botocore signs; smithy re-signs what arrived.
      for (const request of api.received) {
        await expectSignedOverWhatArrived(request, api.url, { applyChecksum: false });
      }
    } finally {
      await api.close();
    }
  }, 120_000);
});
