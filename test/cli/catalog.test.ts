import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_REGION } from "#local/emulators.ts";
import { runCli } from "../support/cli.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import { startTestRegistry, type TestRegistry } from "../support/oci-registry.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

/**
 * `byom catalog add|get|delete` against local mode with the catalog's image import switched on as
 * the CDK app switches it on (IMAGE_REGISTRY), its ECR being moto server's and the image's registry
 * the test's OCI registry (test/support/oci-registry.ts): the command waits for the real
 * import-image job through local mode's job queue and prints the pinned digest.
 */
const REGISTRY = `123456789012.dkr.ecr.${LOCAL_REGION}.amazonaws.com`;

let platform: TestPlatform;
let moto: MotoServer;
let registry: TestRegistry;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  [moto, registry] = await Promise.all([startMotoServer(), startTestRegistry()]);
  platform = await startTestPlatform({
    IMAGE_REGISTRY: REGISTRY,
    IMAGE_REPOSITORY_PREFIX: "byom/images",
    AWS_ENDPOINT_URL_ECR: moto.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
  });
  work = mkdtempSync(join(tmpdir(), "byom-cli-catalog-"));
  env = { BYOM_HOME: platform.home };
}, 600_000);
afterAll(async () => {
  await Promise.all([platform?.stop(), moto?.stop(), registry?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

const byom = (...args: string[]) => runCli(args, { env, cwd: work, timeoutMs: 120_000 });

describe("byom catalog add", () => {
  it("adds a runtime from flags, follows its import job and prints the pinned digest", async () => {
    const image = registry.addImage("acme/scorer", "1.4", [2048, 4096]);
    const added = await byom(
      "catalog",
      "add",
      "runtimes",
      "--name",
      "acme-scorer",
      "--model-type",
      "python/ready-model",
      "--image",
      `${registry.host}/acme/scorer:1.4`,
      "--env",
      "GREETING=hello=world",
      "--framework",
      "xgboost",
      "--capability",
      "passphrase",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/Waiting for job job-\S+ …/);
    expect(added.stderr).toMatch(/succeeded: imported as /);
    expect(added.stdout).toContain(`Pinned digest: ${image.manifestDigest}`);
    expect(added.stdout).toContain(
      `image READY as ${REGISTRY}/byom/images/127.0.0.1-${registry.host.split(":")[1]}/acme/scorer@${image.manifestDigest}`,
    );

    const shown = await byom("catalog", "get", "runtimes", "acme-scorer", "--json");
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json()).toMatchObject({
      name: "acme-scorer",
      env: { GREETING: "hello=world" },
      frameworks: ["xgboost"],
      capabilities: ["passphrase"],
      imageStatus: "READY",
      pinnedImage: expect.stringMatching(new RegExp(`@${image.manifestDigest}$`)),
    });

    const deleted = await byom("catalog", "delete", "runtimes", "acme-scorer");
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await byom("catalog", "get", "runtimes", "acme-scorer");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("no runtimes entry named 'acme-scorer'");
  }, 180_000);

  it("adds from a JSON file and fails with the job's reason when the image cannot be copied", async () => {
    registry.addImage("acme/vanishing", "1", [512]);
    writeFileSync(
      join(work, "entry.json"),
      JSON.stringify({
        kind: "runtimes",
        name: "acme-vanishing",
        modelType: "python/ready-model",
        image: `${registry.host}/acme/vanishing:1`,
        frameworks: ["sklearn"],
      }),
    );
    // Blobs answer 404 (not retried): the job fails at once and the entry with it.
    registry.failBlobs(404);
    const added = await byom("catalog", "add", "--file", "entry.json").finally(() =>
      registry.failBlobs(undefined),
    );
    expect(added.code).toBe(1);
    expect(added.stderr).toMatch(/Job job-\S+ \(import-image\) failed: .*HTTP 404/);
    const shown = await byom("catalog", "get", "runtimes", "acme-vanishing", "--json");
    expect(shown.json()).toMatchObject({
      imageStatus: "FAILED",
      imageStatusReason: expect.stringMatching(/404/),
    });

    // An image that cannot be read at all is refused at once: nothing recorded, the reason shown.
    const absent = await byom(
      "catalog",
      "add",
      "--file",
      "entry.json",
      "--name",
      "acme-absent",
      "--image",
      `${registry.host}/acme/nothing:1`,
    );
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/no such repository or tag \(HTTP 404\)/);
    expect((await byom("catalog", "get", "runtimes", "acme-absent")).code).toBe(1);
  }, 180_000);

  it("says what is wrong with its arguments", async () => {
    const badEnv = await byom("catalog", "add", "runtimes", "--name", "x", "--env", "NOVALUE");
    expect(badEnv.code).not.toBe(0);
    expect(badEnv.stderr).toContain("--env takes NAME=value, not 'NOVALUE'");
    const badKind = await byom("catalog", "add", "gadgets", "--name", "x");
    expect(badKind.code).not.toBe(0);
    expect(badKind.stderr).toContain("<kind> is one of");
  });
});
