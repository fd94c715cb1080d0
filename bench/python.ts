/**
 * `npm run bench:python`: the Python SDK against the CLI, and the MLflow target, in local mode.
 * 1. Upload throughput of one file (default 1 GiB, BENCH_PYTHON_BYTES) with `byom upload --no-wait`
 *    and with the SDK's `project.upload(wait=False)`, 4 parts at a time, alternating, same run
 *    (each includes the SHA-256 pass both clients make before sending).
 * 2. Time from `mlflow deployments create -t byom …` to the first answer of
 *    `mlflow deployments predict`, both real CLI processes, against a real `mlflow server`.
 * Prints the figures and writes them into docs/benchmarks.md between the python markers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { runCli } from "../test/support/cli.ts";
import { deployModels } from "../test/support/deployments.ts";
import { startMlflowServer } from "../test/support/mlflow-server.ts";
import { startTestPlatform } from "../test/support/platform.ts";
import { buildSdkWheel, SDK_DIR } from "../test/support/python-sdk.ts";
import { writeBenchmarkSection } from "./benchmarks-doc.ts";

const BYTES = Number(process.env.BENCH_PYTHON_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_PYTHON_ROUNDS ?? 2);
const MiB = 1024 ** 2;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  await deployModels(); // processor and runtime venvs
  const dir = mkdtempSync(join(tmpdir(), "byom-bench-python-"));
  const [platform, mlflow] = await Promise.all([
    startTestPlatform({ BYOM_LOG_LEVEL: "ERROR" }),
    startMlflowServer(),
  ]);
  try {
    const venv = await ensurePythonEnv("mlflow-byom", [join(SDK_DIR, "tests/mlflow-requirements.txt")]);
    const wheel = await buildSdkWheel(join(dir, "dist"));
    await run(venv.python, ["-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel]);
    const env = { BYOM_HOME: platform.home, MLFLOW_TRACKING_URI: mlflow.url, BYOM_API_URL: "" };

    const file = join(dir, "large.pkl");
    await run("python3", [
      "-c",
      "import os,sys\nwith open(sys.argv[1],'wb') as f:\n  left=int(sys.argv[2])\n  while left>0:\n    n=min(left,64<<20); f.write(os.urandom(n)); left-=n",
      file,
      String(BYTES),
    ]);
    await platform.api.call("POST", "/v1/projects", { name: "bench-python" });
    const cli: number[] = [];
    const sdk: number[] = [];
    const sdkScript = [
      "import sys, time, byom",
      "project = byom.Client(progress=False).project('bench-python')",
      "started = time.perf_counter()",
      "project.upload(sys.argv[1], name=sys.argv[2], framework='sklearn', parallel=4, wait=False)",
      "print(time.perf_counter() - started)",
    ].join("\n");
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      const result = await runCli(
        [
          "upload",
          file,
          "--project",
          "bench-python",
          "--name",
          `cli-${round}`,
          "--framework",
          "sklearn",
          "--parallel",
          "4",
          "--no-wait",
        ],
        { env, timeoutMs: 1_800_000 },
      );
      if (result.code !== 0) throw new Error(`byom upload failed: ${result.stderr}`);
      cli.push((performance.now() - started) / 1000);
      started = performance.now();
      await run(venv.python, ["-c", sdkScript, file, `sdk-${round}`], { env });
      sdk.push((performance.now() - started) / 1000);
    }

    await mlflow.registerModel("bench-churn", venv.python);
    const rows = join(dir, "rows.json");
    writeFileSync(rows, JSON.stringify([{ tenure: 12, charges: 80.5 }]));
    const mlflowCli = (...args: string[]) =>
      run(venv.bin("mlflow"), ["deployments", ...args], { cwd: dir, env });
    const started = performance.now();
    await mlflowCli("create", "-t", "byom:/bench-python", "-m", "models:/bench-churn/1", "--name", "churn");
    const createdAt = performance.now();
    const answer = await mlflowCli(
      "predict",
      "-t",
      "byom:/bench-python",
      "--name",
      "churn",
      "--input-path",
      rows,
    );
    const firstPrediction = (performance.now() - started) / 1000;
    if (!answer.includes("prediction")) throw new Error(`predict answered: ${answer}`);
    await mlflowCli("delete", "-t", "byom:/bench-python", "--name", "churn");

    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const rate = (seconds: number) => `${(BYTES / MiB / seconds).toFixed(0)} MiB/s`;
    const table = [
      `Python benchmark, ${new Date().toISOString().slice(0, 10)}, local mode (s3rver, real HTTP) on this 2-core machine, **shared with other jobs during the run** (load average ${load} at the end): treat the figures as a comparison within one run, not as absolute rates.`,
      "",
      `| what | median of ${ROUNDS} | runs (s) | throughput |`,
      "|---|---:|---:|---:|",
      `| \`byom upload --no-wait\`, ${(BYTES / MiB).toFixed(0)} MiB, 4 parts at a time (CLI process, SHA-256 included) | ${median(cli).toFixed(1)} s | ${cli.map((s) => s.toFixed(1)).join(", ")} | ${rate(median(cli))} |`,
      `| \`project.upload(wait=False)\`, same file, \`parallel=4\` (SDK, SHA-256 included) | ${median(sdk).toFixed(1)} s | ${sdk.map((s) => s.toFixed(1)).join(", ")} | ${rate(median(sdk))} |`,
      `| \`mlflow deployments create -t byom\` (resolve models:/ through the tracking server, upload, ingest, register, deploy, HEALTHY) | ${((createdAt - started) / 1000).toFixed(1)} s | | |`,
      `| … then \`mlflow deployments predict\` answers: create → first prediction | ${firstPrediction.toFixed(1)} s | | |`,
    ].join("\n");
    console.log(table);
    writeBenchmarkSection("python", table, { heading: "Python SDK and MLflow target" });
  } finally {
    await Promise.all([platform.stop(), mlflow.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
