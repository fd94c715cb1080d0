/**
 * `npm run bench:scorer`: in-process predict vs Byom's runtime vs `mlflow models serve` vs Seldon
 * MLServer (MLflow runtime), same models and load generator (wrk, closed loop), loopback only.
 * Prints the table and rewrites the Scorer section of docs/benchmarks.md.
 * Options via env: BENCH_SECONDS (5), BENCH_ROUNDS (2), BENCH_CONCURRENCY (1,4), BENCH_MILLION
 * (rows of the large CSV, 0 = skip), BENCH_MODELS, BENCH_SERVERS, BENCH_CAPTURE (0: no "byom capture
 * 100%" server, the runtime capturing every request; default 1), BENCH_METRICS (0: no "byom metrics
 * on" server, the runtime counting as in a deployment; default 1), BENCH_BEFORE (a commit whose
 * runtime is served beside today's), BENCH_NO_WRITE (do not rewrite docs/benchmarks.md), BENCH_MOJO
 * (0: skip the H2O-3 MOJO runtime's part, bench/mojo.ts, run after the others).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "#cdk/paths.ts";
import { ensureImageEnv, ensurePythonEnv, VENVS_DIR } from "#local/python-env.ts";
import { writeBenchmarkSection } from "../benchmarks-doc.ts";
import { ensureWrk } from "../ensure-wrk.ts";
import { ensurePeerEnvs } from "./peers.ts";

interface Stat {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}
interface Paired {
  ms: number;
  inProcessMs: number;
  ratio: number;
  status: number;
}
interface Loop {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
}
interface ModelReport {
  inProcess: { callsPerSecond: number; p99Ms: number };
  servers: Record<
    string,
    Record<string, Stat> & {
      v2?: { rps: number; p99Ms: number };
      cpu?: { requests: number; serverUs: number; childrenUs: number };
    }
  >;
  batch: Record<string, Paired>;
  closedLoop: Record<string, { plain: Loop; quickack: Loop }>;
  million?: {
    rows: number;
    bytes: number;
    seconds: number;
    rowsPerSecond: number;
    peakRssMiB: number;
    peakRssBeforeMiB: number;
  };
}
interface Report {
  machine: {
    cpus: number;
    python: string;
    loadStart: number;
    loadEnd: number;
    serverCore: number;
    clientCore: number;
  };
  seconds: number;
  rounds: number;
  concurrency: number[];
  models: Record<string, ModelReport>;
  failures: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const RAW = join(here, "results", "wrk-raw.txt");

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", cwd: REPO_ROOT });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

const fmt = (n: number | undefined, digits = 0) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : "n/a";

function table(report: Report): string {
  const lines: string[] = [];
  const date = new Date().toISOString().slice(0, 10);
  const { machine } = report;
  lines.push(
    `Scorer benchmark, ${date}, ${machine.cpus} cores, CPython ${machine.python}. **Like with like**: every server runs one worker process pinned to core ${machine.serverCore} (\`taskset\`), the in-process baseline predicts on that same core, and wrk and the benchmark's own client run on core ${machine.clientCore}. Byom \`BYOM_WORKERS=1\`; \`mlflow models serve -w 1\`; MLServer 1.7.1 + mlserver-mlflow with \`parallel_workers: 0\`. The servers' runs are interleaved (each concurrency level runs on every server in turn, ${report.rounds} rounds of ${report.seconds} s; medians shown). wrk closed loop, one keep-alive connection per concurrency level; the raw wrk output of every run is in \`bench/scorer/results/wrk-raw.txt\`; any non-2xx answer or socket error fails the benchmark (this run: ${report.failures.length ? report.failures.join("; ") : "none"}). Load average of the shared machine at start/end: ${fmt(machine.loadStart, 1)} / ${fmt(machine.loadEnd, 1)} — **the machine was shared with other sessions: treat the figures as indicative only**.`,
  );
  lines.push("");
  lines.push(
    `| model | server | ${report.concurrency.map((c) => `req/s c=${c}`).join(" | ")} | p99 ms c=${report.concurrency[0]} (wrk) | own client c=1: req/s, p99, max ms | same with TCP_QUICKACK: req/s, p99 | V2 infer req/s c=1 | CPU µs per request (of it child processes) |`,
  );
  lines.push(`|---|---|${report.concurrency.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|`);
  for (const [model, entry] of Object.entries(report.models)) {
    lines.push(
      `| ${model} | in-process pyfunc predict | ${fmt(entry.inProcess.callsPerSecond)} (1 thread) |${report.concurrency
        .slice(1)
        .map(() => " |")
        .join("")} ${fmt(entry.inProcess.p99Ms, 2)} | | | | |`,
    );
    for (const [server, stats] of Object.entries(entry.servers)) {
      const loop = entry.closedLoop[server];
      const first = stats[String(report.concurrency[0])];
      lines.push(
        `| ${model} | ${server} | ${report.concurrency.map((c) => fmt(stats[String(c)]?.rps)).join(" | ")} | ${fmt(first?.p99Ms, 2)} | ${fmt(loop?.plain.rps)}, ${fmt(loop?.plain.p99_ms, 2)}, ${fmt(loop?.plain.max_ms, 1)} | ${fmt(loop?.quickack.rps)}, ${fmt(loop?.quickack.p99_ms, 2)} | ${stats.v2 ? fmt(stats.v2.rps) : ""} | ${stats.cpu ? `${fmt(stats.cpu.serverUs + stats.cpu.childrenUs)} (${fmt(stats.cpu.childrenUs)})` : ""} |`,
      );
    }
  }
  lines.push("");
  lines.push(
    "10,000-row batches: each POST timed right after an in-process predict of the same rows on the servers' core; ×in-process is the median of the per-round ratios.",
  );
  lines.push("");
  lines.push("| model | server | body | ms | in-process alongside ms | ×in-process |");
  lines.push("|---|---|---|---:|---:|---:|");
  for (const [model, entry] of Object.entries(report.models)) {
    for (const [key, paired] of Object.entries(entry.batch)) {
      const [server, kind] = key.split("|");
      lines.push(
        `| ${model} | ${server} | ${kind} | ${fmt(paired.ms, 1)}${paired.status === 200 ? "" : ` (HTTP ${paired.status})`} | ${fmt(paired.inProcessMs, 1)} | ${fmt(paired.ratio, 2)} |`,
      );
    }
  }
  const millions = Object.entries(report.models).filter(([, e]) => e.million);
  if (millions.length) {
    lines.push("");
    lines.push("One POST of a CSV body, Byom (one worker), answer as CSV:");
    lines.push("");
    lines.push("| model | rows | body MB | seconds | rows/s | worker peak RSS MiB (before the POST) |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    for (const [model, entry] of millions) {
      const m = entry.million as NonNullable<ModelReport["million"]>;
      lines.push(
        `| ${model} | ${m.rows} | ${fmt(m.bytes / 1e6)} | ${fmt(m.seconds, 1)} | ${fmt(m.rowsPerSecond)} | ${fmt(m.peakRssMiB)} (${fmt(m.peakRssBeforeMiB)}) |`,
      );
    }
  }
  return lines.join("\n");
}

/** bench.py's options set from the environment (see the header): option → [variable, default]. */
const ENV_OPTIONS: Record<string, [string, string]> = {
  seconds: ["BENCH_SECONDS", "5"],
  rounds: ["BENCH_ROUNDS", "2"],
  concurrency: ["BENCH_CONCURRENCY", "1,4"],
  million: ["BENCH_MILLION", "1000000"],
  models: ["BENCH_MODELS", "sklearn-gbm,xgboost,lightgbm"],
  servers: ["BENCH_SERVERS", "byom,mlflow,mlserver"],
  capture: ["BENCH_CAPTURE", "1"],
  metrics: ["BENCH_METRICS", "1"],
};

ensureWrk();
const tabular = await ensureImageEnv("tabular-runtime");
const peers = await ensurePeerEnvs();
const out = join(tmpdir(), `byom-bench-scorer-${process.pid}.json`);
const before = await runtimeBefore();
const code = await run(tabular.python, [
  join(here, "bench.py"),
  "--mlflow-python",
  peers.mlflowServe,
  "--mlserver-python",
  peers.mlserver,
  ...(before ? ["--before-python", before.python, "--before-source", before.source] : []),
  ...Object.entries(ENV_OPTIONS).flatMap(([option, [name, fallback]]) => [
    `--${option}`,
    process.env[name] ?? fallback,
  ]),
  "--raw",
  RAW,
  "--out",
  out,
]);
const report = JSON.parse(await readFile(out, "utf8")) as Report;
const markdown = table(report);
console.log(`\n${markdown}\n`);
if (!process.env.BENCH_NO_WRITE) writeBenchmarkSection("scorer", markdown, { heading: "Scorer" });
if (code !== 0) {
  process.stderr.write(`bench:scorer failed: ${report.failures.join("; ") || `exit ${code}`}\n`);
  process.exit(1);
}
// The H2O-3 MOJO runtime (Java) has no MLflow peers: its own part, against h2o-genmodel in process.
if (process.env.BENCH_MOJO !== "0" && (await run("npx", ["tsx", join(here, "..", "mojo.ts")])) !== 0) {
  process.stderr.write("bench:scorer failed in its MOJO part (bench/mojo.ts)\n");
  process.exit(1);
}

/**
 * The runtime as it was before a given commit (BENCH_BEFORE, e.g. a merge base), served beside
 * today's in the same run so single-row figures compare like with like; skipped when unset.
 */
async function runtimeBefore(): Promise<{ python: string; source: string } | undefined> {
  const commit = process.env.BENCH_BEFORE;
  if (!commit) return undefined;
  const dir = join(tmpdir(), `byom-bench-before-${commit}`);
  await mkdir(dir, { recursive: true });
  const archive = spawnSync("sh", ["-c", `git archive ${commit} runtime-images | tar -x -C ${dir}`], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
  if (archive.status !== 0) throw new Error(`cannot extract runtime-images at ${commit}`);
  const requirements = join(dir, "runtime-images", "tabular-runtime", "requirements.txt");
  // The image venv of those requirements when this machine has one already (same naming as
  // local/python-env.ts), else a venv of its own.
  const hash = createHash("sha256")
    .update(await readFile(requirements))
    .digest("hex")
    .slice(0, 12);
  const existing = join(VENVS_DIR, `tabular-runtime-${hash}`);
  const python = existsSync(join(existing, ".byom-ready"))
    ? join(existing, "bin", "python")
    : (await ensurePythonEnv("bench-runtime-before", [requirements])).python;
  return { python, source: join(dir, "runtime-images", "python") };
}
