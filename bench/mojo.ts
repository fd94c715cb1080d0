/**
 * `npm run bench:mojo`: the H2O-3 MOJO runtime (h2o3-mojo-runtime, Java) on the binomial GBM MOJO
 * that H2O-3 trains in the tests: single-row POST /model/score with wrk (closed loop, loopback,
 * bounded in time) at a few concurrencies, and a 10,000-row POST against the same rows predicted
 * in process with h2o-genmodel (`java -jar byom-mojo.jar bench`). `npm run bench:scorer` runs it after
 * the Python runtimes and their peers (BENCH_MOJO=0 skips it); the table goes into
 * docs/benchmarks.md after the scorer's. Options via env: BENCH_SECONDS (6), BENCH_CONCURRENCY
 * (1,4,16), BENCH_WORKERS (2), BENCH_REPEATS (5).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME_IMAGES_DIR } from "#cdk/paths.ts";
import { ensureJavaImage } from "#local/java-image.ts";
import { h2oMojos } from "../test/support/h2o.ts";
import { runProcessor, startRuntime } from "../test/support/runtime-process.ts";
import { writeBenchmarkSection } from "./benchmarks-doc.ts";
import { ensureWrk } from "./ensure-wrk.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "1,4,16").split(",").map(Number);
const WORKERS = process.env.BENCH_WORKERS ?? "2";
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const BATCH_ROWS = 10_000;

interface Load {
  concurrency: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function ms(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) throw new Error(`unreadable wrk latency ${text}`);
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

function wrk(url: string, bodyFile: string, concurrency: number, seconds: number, work: string): Load {
  const script = join(work, "post.lua");
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("${bodyFile}", "rb")\nwrk.body = f:read("*a")\nf:close()\n`,
  );
  const run = spawnSync(
    "wrk",
    ["-t1", `-c${concurrency}`, `-d${seconds}s`, "--latency", "-s", script, `${url}/model/score`],
    { encoding: "utf8", timeout: (seconds + 30) * 1000 },
  );
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr || run.error}`);
  const out = run.stdout;
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    concurrency,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50Ms: ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ""),
    p99Ms: ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ""),
    errors: bad ? Number(bad[1]) : 0,
  };
}

async function postMs(url: string, body: string): Promise<number> {
  const started = performance.now();
  const answer = await fetch(`${url}/model/score`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  await answer.arrayBuffer();
  if (answer.status !== 200) throw new Error(`10k-row POST answered ${answer.status}`);
  return performance.now() - started;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

ensureWrk();
const work = mkdtempSync(join(tmpdir(), "byom-bench-mojo-"));
const loadStart = loadavg()[0];
try {
  const mojo = (await h2oMojos()).binomial;
  const ready = join(work, "ready");
  const processed = await runProcessor("h2o3-mojo-processor", mojo.zip, ready);
  if (processed.code !== 0) throw new Error(processed.stderr);
  const { fields, rows } = mojo.expected;
  const complete = rows.filter((row) => !row.includes(""));
  const single = join(work, "one.json");
  writeFileSync(single, JSON.stringify({ fields, rows: [complete[0]] }));
  const batch = { fields, rows: Array.from({ length: BATCH_ROWS }, (_, i) => complete[i % complete.length]) };
  const batchFile = join(work, "batch.json");
  const batchBody = JSON.stringify(batch);
  writeFileSync(batchFile, batchBody);

  const served = await startRuntime("h2o3-mojo-runtime", ready, "bench", { BYOM_WORKERS: WORKERS });
  const loads: Load[] = [];
  let batchPostMs: number;
  try {
    wrk(served.url, single, 4, 2, work); // warm-up: JIT
    for (const concurrency of CONCURRENCY) loads.push(wrk(served.url, single, concurrency, SECONDS, work));
    await postMs(served.url, batchBody);
    const posts: number[] = [];
    for (let i = 0; i < REPEATS; i++) posts.push(await postMs(served.url, batchBody));
    batchPostMs = median(posts);
  } finally {
    await served.stop();
  }
  const java = await ensureJavaImage(join(RUNTIME_IMAGES_DIR, "mojo-runtime"), RUNTIME_IMAGES_DIR);
  const jar = java.args.find((arg) => arg.endsWith(".jar")) as string;
  const inProcess = spawnSync("java", ["-jar", jar, "bench", mojo.zip, batchFile, String(REPEATS)], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (inProcess.status !== 0) throw new Error(`in-process bench failed: ${inProcess.stderr}`);
  const inProcessMs = (
    JSON.parse(inProcess.stdout.trim().split("\n").at(-1) as string) as { medianMs: number }
  ).medianMs;

  const report = {
    machine: { cpus: (await import("node:os")).cpus().length, loadStart, loadEnd: loadavg()[0] },
    workers: Number(WORKERS),
    seconds: SECONDS,
    singleRow: loads,
    batch10k: { postMs: batchPostMs, inProcessMs, ratio: batchPostMs / inProcessMs },
  };
  const markdown = [
    `H2O-3 MOJO runtime (Java, h2o-genmodel), ${new Date().toISOString().slice(0, 10)}: the binomial GBM MOJO the tests train with h2o 3.46.0.6, ${WORKERS} worker threads, wrk closed loop for ${SECONDS} s per concurrency on loopback; load average ${(report.machine.loadStart ?? 0).toFixed(1)} / ${(report.machine.loadEnd ?? 0).toFixed(1)} at start/end.`,
    "",
    "| concurrency | req/s | p50 ms | p99 ms | non-2xx |",
    "|---:|---:|---:|---:|---:|",
    ...loads.map(
      (l) =>
        `| ${l.concurrency} | ${l.rps.toFixed(0)} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} | ${l.errors} |`,
    ),
    "",
    `10,000 rows (JSON): POST ${batchPostMs.toFixed(1)} ms, h2o-genmodel in process ${inProcessMs.toFixed(1)} ms: ${report.batch10k.ratio.toFixed(2)}× in-process (medians of ${REPEATS}).`,
  ].join("\n");
  console.log(`\n${markdown}\n`);
  console.log(JSON.stringify(report));
  if (!process.env.BENCH_NO_WRITE) writeBenchmarkSection("scorer-mojo", markdown, { after: "scorer" });
  if (loads.some((l) => l.errors > 0)) {
    process.stderr.write("bench:mojo: non-2xx answers (see the table)\n");
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
