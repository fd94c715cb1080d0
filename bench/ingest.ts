/**
 * `npm run bench:ingest`: one large MLflow model zip (default 5 GB: a real mlflow model plus a stored
 * random filler entry, so the zip needs ZIP64) through the real path in local mode: artifact
 * creation, a multipart upload of presigned parts (4 at a time), complete, then ingestion (SHA-256
 * over ranged reads, the central directory and MLmodel read by range). Prints the timings and
 * writes them into docs/benchmarks.md between the ingest markers. BENCH_INGEST_BYTES sets the size.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "#local/processes.ts";
import { putMultipart } from "../client/s3-transfer.ts";
import { mlflowZips } from "../test/support/artifacts.ts";
import { apiClient, REPO_ROOT, startTestPlatform } from "../test/support/platform.ts";
import { writeBenchmarkSection } from "./benchmarks-doc.ts";

const BYTES = Number(process.env.BENCH_INGEST_BYTES ?? 5_000_000_000);
const MiB = 1024 ** 2;

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 8 * MiB })) hash.update(chunk);
  return hash.digest("hex");
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "byom-bench-ingest-"));
  const platform = await startTestPlatform({ BYOM_LOG_LEVEL: "ERROR" });
  try {
    const zip = join(dir, "large.zip");
    let started = performance.now();
    await run("python3", [
      "-c",
      [
        "import os, shutil, sys, zipfile",
        "src, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])",
        "shutil.copy(src, out)",
        "filler = out + '.filler'",
        "with open(filler, 'wb') as f:",
        "    left = size",
        "    while left > 0:",
        "        n = min(left, 64 << 20); f.write(os.urandom(n)); left -= n",
        "with zipfile.ZipFile(out, 'a') as z: z.write(filler, 'filler.bin', compress_type=zipfile.ZIP_STORED)",
        "os.remove(filler)",
      ].join("\n"),
      (await mlflowZips()).column,
      zip,
      String(BYTES),
    ]);
    const size = statSync(zip).size;
    const prepareMs = performance.now() - started;
    const sha256 = await sha256File(zip);

    const api = apiClient(platform.config.apiUrl, platform.config.token);
    const { body: project } = await api.call("POST", "/v1/projects", { name: "bench-ingest" });
    const p = `/v1/projects/${project.projectId}`;
    const { body: experiment } = await api.call("POST", `${p}/experiments`, { name: "large" });
    const base = `${p}/experiments/${experiment.experimentId}/artifacts`;

    started = performance.now();
    const created = await api.call("POST", base, {
      type: "python/mlflow",
      fileName: "large.zip",
      sizeBytes: size,
      sha256,
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    const createMs = performance.now() - started;
    const { artifact, upload } = created.body;
    if (!upload.multipart) throw new Error("BENCH_INGEST_BYTES must exceed the 64 MiB multipart threshold");
    started = performance.now();
    const parts = await putMultipart(zip, size, upload, {
      concurrency: 4,
      onProgress: () => undefined,
      done: [],
      onPartDone: () => undefined,
    });
    const uploadMs = performance.now() - started;
    started = performance.now();
    // The completion is a job (s3rver assembles the object in it): wait for the job to end.
    const completed = await api.call("POST", `${base}/${artifact.artifactId}/complete`, { parts });
    if (completed.status !== 202)
      throw new Error(`complete: ${completed.status} ${JSON.stringify(completed.body)}`);
    for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline; ) {
      const job = (await api.call("GET", completed.body.location)).body;
      if (job.status === "FAILED") throw new Error(`complete: ${JSON.stringify(job.error)}`);
      if (job.status === "SUCCEEDED") break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const completeMs = performance.now() - started;
    started = performance.now();
    let final: any;
    for (const deadline = Date.now() + 30 * 60_000; Date.now() < deadline; ) {
      final = (await api.call("GET", `${base}/${artifact.artifactId}`)).body;
      if (final.status === "READY" || final.status === "FAILED") break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const ingestMs = performance.now() - started;
    if (final?.status !== "READY" || final.sha256 !== sha256) {
      throw new Error(`ingestion did not end READY with the right checksum: ${JSON.stringify(final)}`);
    }
    const table = [
      `Ingest benchmark, ${new Date().toISOString().slice(0, 10)}: one ${(size / 1e9).toFixed(2)} GB MLflow zip (${size > 0xffffffff ? "ZIP64; " : ""}a real model plus a stored random filler) through local mode (s3rver, real HTTP), on this 2-core machine.`,
      "",
      "| step | seconds | throughput |",
      "|---|---:|---:|",
      `| build the zip (Python zipfile) | ${seconds(prepareMs)} | |`,
      `| create artifact (${upload.multipart.parts.length} presigned parts of ${upload.multipart.partSizeBytes / MiB} MiB) | ${seconds(createMs)} | |`,
      `| upload the parts, 4 at a time | ${seconds(uploadMs)} | ${(size / MiB / (uploadMs / 1000)).toFixed(0)} MiB/s |`,
      `| complete: the job (s3rver assembles the parts into one object) | ${seconds(completeMs)} | ${(size / MiB / (completeMs / 1000)).toFixed(0)} MiB/s |`,
      `| ingestion: event → READY (SHA-256 over 16 MiB ranged reads, central directory and MLmodel by range) | ${seconds(ingestMs)} | ${(size / MiB / (ingestMs / 1000)).toFixed(0)} MiB/s |`,
      "",
      `Ingestion found framework ${final.model.framework} and wrote the schema; the artifact's SHA-256 matched the declared one.`,
    ].join("\n");
    console.log(table);
    // Formatted as `npm run lint` wants it (biome aligns Markdown tables).
    const formatted = execFileSync(
      join(REPO_ROOT, "node_modules/.bin/biome"),
      ["format", "--stdin-file-path=docs/benchmarks.md"],
      {
        input: table,
        encoding: "utf8",
      },
    ).trimEnd();
    writeBenchmarkSection("ingest", formatted, { heading: "Ingestion" });
  } finally {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
