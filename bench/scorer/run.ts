/**
 * `npm run bench:scorer`: in-process predict vs Byom's runtime vs `mlflow models serve` vs Seldon
 * MLServer (MLflow runtime), same models and load generator (wrk, closed loop), loopback only.
 * Prints the table and rewrites the Scorer section of docs/benchmarks.md.
 * Options via env: BENCH_SECONDS (6), BENCH_CONCURRENCY (1,4,16), BENCH_MODELS, BENCH_SERVERS.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureImageEnv, REPO_ROOT } from "#local/python-env.ts";
import { ensurePeerEnvs } from "./peers.ts";

interface Load {
  concurrency: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}
interface Row {
  model: string;
  server: string;
  batch10kMs: number;
  batchStatus: number;
  /** The in-process predict of the same rows, timed alternately with the POSTs. */
  batchInProcessMs: number;
  /** Median over rounds of POST time ÷ in-process time in the same round. */
  batchRatio: number;
  loads: Load[];
}
interface Report {
  machine: { cpus: number; python: string; loadStart?: number; loadEnd?: number };
  seconds: number;
  concurrency: number[];
  baselines: Record<string, { callsPerSecond: number; p99Ms: number; batch10kMs: number }>;
  results: Row[];
}

const here = dirname(fileURLToPath(import.meta.url));

function ensureWrk(): void {
  if (spawnSync("wrk", ["--version"]).error === undefined) return;
  process.stderr.write("bench: installing wrk (Debian package)\n");
  spawnSync("apt-get", ["install", "-y", "-q", "wrk"], { stdio: "inherit" });
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", cwd: REPO_ROOT });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const peak = (row: Row) => row.loads.reduce((best, load) => (load.rps > best.rps ? load : best));
const atLowest = (row: Row) =>
  row.loads.reduce((low, load) => (load.concurrency < low.concurrency ? load : low));

function table(report: Report): string {
  const lines: string[] = [];
  const date = new Date().toISOString().slice(0, 10);
  lines.push(
    `Scorer benchmark, ${date}, ${report.machine.cpus} cores, CPython ${report.machine.python}; wrk closed loop, one keep-alive connection per concurrency level, ${report.seconds} s per level at concurrency ${report.concurrency.join(", ")}; single-row bodies; 10k-row batch = median of 11 POSTs, each timed right after an in-process predict of the same rows (the ×in-process column is the median of those paired ratios: a shared machine drifts by tens of percent within a minute, so ratios of separately timed runs mislead). Every process (and the in-process baseline) runs with OMP_NUM_THREADS=1. Models: 20 columns (8 integer, 9 float, 3 boolean), MLflow flavors with signatures. Byom: 2 worker processes; \`mlflow models serve -w 2\`; MLServer 1.7.1 + mlserver-mlflow, parallel_workers 2.`,
  );
  lines.push("");
  lines.push(
    `Load average of the machine (shared with other sessions) at start/end: ${fmt(report.machine.loadStart ?? Number.NaN, 1)} / ${fmt(report.machine.loadEnd ?? Number.NaN, 1)}. "In-process" is \`mlflow.pyfunc.load_model(...).predict(DataFrame)\` in one thread, what a user runs in a notebook: its single-row calls/s include pandas and MLflow's schema enforcement, which Byom skips when its load-time probe shows the raw model on a numpy matrix answers the same, so Byom's single-row rate can exceed it. The 10k-row times include JSON encoding on the client, parsing, conversion and the answer.`,
  );
  lines.push("");
  lines.push(
    "| model | server | peak req/s (c) | p50 ms at peak | p99 ms at peak | p99 ms at c=" +
      `${Math.min(...report.concurrency)} (req/s) | 10k rows ms | in-process alongside ms | ×in-process (10k, paired) |`,
  );
  lines.push("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const [model, base] of Object.entries(report.baselines)) {
    lines.push(
      `| ${model} | in-process pyfunc predict | ${fmt(base.callsPerSecond)} (1 thread) | | | ${fmt(base.p99Ms, 2)} | ${fmt(base.batch10kMs, 1)} | | 1.00 |`,
    );
    for (const row of report.results.filter((r) => r.model === model)) {
      const top = peak(row);
      const low = atLowest(row);
      lines.push(
        `| ${model} | ${row.server} | ${fmt(top.rps)} (${top.concurrency}) | ${fmt(top.p50_ms, 2)} | ${fmt(top.p99_ms, 2)} | ${fmt(low.p99_ms, 2)} (${fmt(low.rps)}) | ${fmt(row.batch10kMs, 1)}${row.batchStatus === 200 ? "" : ` (HTTP ${row.batchStatus})`} | ${fmt(row.batchInProcessMs, 1)} | ${fmt(row.batchRatio, 2)} |`,
      );
    }
  }
  lines.push("");
  lines.push(
    "Ratios of Byom against each peer (peak single-row req/s; 10k-row batch time, lower is better):",
  );
  lines.push("");
  lines.push(
    "| model | ×MLServer req/s | ×mlflow serve req/s | Byom 10k ÷ MLServer 10k | Byom 10k ÷ mlflow 10k |",
  );
  lines.push("|---|---:|---:|---:|---:|");
  for (const model of Object.keys(report.baselines)) {
    const byServer = (name: string) => report.results.find((r) => r.model === model && r.server === name);
    const byom = byServer("byom");
    const mlserver = byServer("MLServer");
    const mlflow = byServer("mlflow models serve");
    if (!byom) continue;
    const ratio = (a?: Row, f?: (r: Row) => number) => (a && f ? f(a) : Number.NaN);
    lines.push(
      `| ${model} | ${fmt(peak(byom).rps / ratio(mlserver, (r) => peak(r).rps), 1)} | ${fmt(peak(byom).rps / ratio(mlflow, (r) => peak(r).rps), 1)} | ${fmt(byom.batch10kMs / ratio(mlserver, (r) => r.batch10kMs), 2)} | ${fmt(byom.batch10kMs / ratio(mlflow, (r) => r.batch10kMs), 2)} |`,
    );
  }
  return lines.join("\n");
}

async function writeSection(markdown: string): Promise<void> {
  const path = join(REPO_ROOT, "docs", "benchmarks.md");
  let text = await readFile(path, "utf8").catch(() => "# Benchmarks\n");
  const section = `<!-- scorer:begin -->\n${markdown}\n<!-- scorer:end -->`;
  if (text.includes("<!-- scorer:begin -->")) {
    text = text.replace(/<!-- scorer:begin -->[\s\S]*<!-- scorer:end -->/, section);
  } else {
    text = `${text.trimEnd()}\n\n## Scorer\n\n${section}\n`;
  }
  await writeFile(path, text);
}

ensureWrk();
const tabular = await ensureImageEnv("tabular-runtime");
const peers = await ensurePeerEnvs();
const out = join(tmpdir(), `byom-bench-scorer-${process.pid}.json`);
await run(tabular.python, [
  join(here, "bench.py"),
  "--mlflow-python",
  peers.mlflowServe,
  "--mlserver-python",
  peers.mlserver,
  "--seconds",
  process.env.BENCH_SECONDS ?? "6",
  "--concurrency",
  process.env.BENCH_CONCURRENCY ?? "1,4,16",
  "--models",
  process.env.BENCH_MODELS ?? "sklearn-gbm,xgboost,lightgbm",
  "--servers",
  process.env.BENCH_SERVERS ?? "byom,mlflow,mlserver",
  "--out",
  out,
]);
const report = JSON.parse(await readFile(out, "utf8")) as Report;
const markdown = table(report);
console.log(`\n${markdown}\n`);
if (!process.env.BENCH_NO_WRITE) await writeSection(markdown);
