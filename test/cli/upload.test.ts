import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlflowZips, sha256Hex } from "../support/artifacts.ts";
import { runCli } from "../support/cli.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

const MiB = 1024 * 1024;

let platform: TestPlatform;
let env: Record<string, string>;
let work: string;
let projectId: string;
beforeAll(async () => {
  // Small multipart thresholds so a few MiB make a multipart upload of several parts.
  platform = await startTestPlatform({
    BYOM_MULTIPART_THRESHOLD_BYTES: String(2 * MiB),
    BYOM_MULTIPART_PART_SIZE_BYTES: String(MiB),
  });
  env = { BYOM_HOME: platform.home };
  work = mkdtempSync(join(tmpdir(), "byom-cli-upload-"));
  const { body } = await platform.api.call("POST", "/v1/projects", { name: "cli-uploads" });
  projectId = body.projectId;
});
afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const byom = (...args: string[]) => runCli(args, { env, timeoutMs: 120_000 });

function pickle(name: string, bytes: number): { file: string; sha256: string } {
  const content = randomBytes(bytes);
  const file = join(work, name);
  writeFileSync(file, content);
  return { file, sha256: sha256Hex(content) };
}

describe("byom upload", () => {
  it("uploads an MLflow zip with one PUT and prints the schema ingestion extracted", async () => {
    const zips = await mlflowZips();
    const result = await byom("upload", zips.column, "--project", "cli-uploads", "--name", "iris-like");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Experiment iris-like");
    expect(result.stdout).toContain("is READY");
    expect(result.stdout).toMatch(
      /Input schema:\nCOLUMN\s+TYPE\nage\s+Int64\nincome\s+Float64\nscore\s+Float32/,
    );
    expect(result.stdout).toMatch(/Output schema:\nCOLUMN\s+TYPE\n\S+\s+Int64/);
    expect(result.stderr).toContain("uploaded in");
  }, 300_000);

  it("uploads a pickle in parts, in parallel, and ingestion verifies the assembled bytes", async () => {
    const { file, sha256 } = pickle("big-model.pkl", 5 * MiB + 12345);
    const result = await byom("upload", file, "--project", projectId, "--framework", "sklearn", "--json");
    expect(result.code, result.stderr).toBe(0);
    const { artifact, experiment } = result.json();
    expect(experiment.name).toBe("big-model");
    expect(artifact).toMatchObject({
      status: "READY",
      sha256,
      sizeBytes: 5 * MiB + 12345,
      framework: "sklearn",
    });
    expect(readdirSync(join(platform.home, "uploads"))).toEqual([]);
  }, 300_000);

  it("resumes an interrupted multipart upload, sending only the missing parts", async () => {
    const { file, sha256 } = pickle("resumed.pkl", 4 * MiB + 1);
    const args = ["upload", file, "--project", projectId, "--framework", "sklearn", "--parallel", "1"];

    const interrupted = await runCli(args, { env: { ...env, BYOM_CLI_STOP_AFTER_PARTS: "2" } });
    expect(interrupted.code).toBe(1);
    expect(interrupted.stderr).toContain("Upload stopped after 2 of 5 parts");
    expect(interrupted.stderr).toContain("Run the same command again to resume");
    const states = readdirSync(join(platform.home, "uploads"));
    expect(states).toHaveLength(1);
    // The saved URLs stop working (as they do an hour later): the resume must ask for fresh ones.
    const statePath = join(platform.home, "uploads", states[0] as string);
    const saved = JSON.parse(readFileSync(statePath, "utf8"));
    for (const part of saved.plan.multipart.parts)
      part.url = part.url.replace(/\/\/[^/]+\//, "//127.0.0.1:9/");
    writeFileSync(statePath, JSON.stringify(saved));

    const resumed = await byom(...args, "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("2 of 5 parts already uploaded");
    const artifact = resumed.json().artifact;
    expect(artifact).toMatchObject({ status: "READY", sha256 });
    expect(existsSync(statePath)).toBe(false);

    // Renewal is for uploads still in flight only.
    const renewal = await platform.api.call(
      "POST",
      `/v1/projects/${projectId}/experiments/${artifact.experimentId}/artifacts/${artifact.artifactId}/upload`,
    );
    expect(renewal.status).toBe(409);
    expect(renewal.body.error.message).toContain("nothing left to upload");

    const experiments = await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`);
    expect(experiments.body.items.filter((e: { name: string }) => e.name === "resumed")).toHaveLength(1);
  }, 300_000);

  it("starts over when the interrupted upload's experiment was deleted meanwhile", async () => {
    const { file, sha256 } = pickle("deleted.pkl", 3 * MiB);
    const args = ["upload", file, "--project", projectId, "--framework", "sklearn", "--parallel", "1"];
    const interrupted = await runCli(args, { env: { ...env, BYOM_CLI_STOP_AFTER_PARTS: "1" } });
    expect(interrupted.code).toBe(1);
    const experiments = await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`);
    const stale = experiments.body.items.find((e: { name: string }) => e.name === "deleted");
    expect(
      (await platform.api.call("DELETE", `/v1/projects/${projectId}/experiments/${stale.experimentId}`))
        .status,
    ).toBe(202);

    const again = await byom(...args, "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("no longer exists on the server; starting over");
    expect(again.json().artifact).toMatchObject({ status: "READY", sha256 });
  }, 300_000);

  it("refuses bad input with a clear message and a non-zero exit, leaving nothing behind", async () => {
    const missing = await byom("upload", join(work, "nope.zip"), "--project", projectId);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/File '.*nope\.zip' does not exist/);

    const { file } = pickle("model.pkl", 1000);
    const unknownProject = await byom(
      "upload",
      file,
      "--project",
      "no-such-project",
      "--framework",
      "sklearn",
    );
    expect(unknownProject.code).toBe(1);
    expect(unknownProject.stderr).toContain("No project named 'no-such-project'");

    const wrongType = await byom("upload", file, "--project", projectId, "--type", "python/nonsense");
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toContain("Artifact type 'python/nonsense' is not in the catalog");

    const noFramework = await byom("upload", file, "--project", projectId);
    expect(noFramework.code).toBe(1);
    expect(noFramework.stderr).toContain('needs "framework"');
    expect(noFramework.stderr).toContain("Pass --framework <library>, e.g. --framework sklearn.");

    const unknownExtension = pickle("model.bin", 10);
    const noType = await byom("upload", unknownExtension.file, "--project", projectId);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toContain("pass --type");

    const experiments = await platform.api.call("GET", `/v1/projects/${projectId}/experiments?limit=100`);
    expect(experiments.body.items.map((e: { name: string }) => e.name)).not.toContain("model");
  }, 300_000);

  it("exits 1 with ingestion's reason when the artifact fails", async () => {
    const zips = await mlflowZips();
    const result = await byom("upload", zips.tensor, "--project", projectId);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Ingestion of tensor.zip failed:");
    expect(result.stderr).toMatch(/tensor/i);
  }, 300_000);
});
