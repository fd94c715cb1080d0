/**
 * `npm run bench:registry`: the registry against docs/benchmarks.md.
 * - p50/p99 latency per endpoint against local mode (real HTTP, real emulators), N sequential calls each;
 * - the minified bundle size of each Lambda (esbuild, the CDK app's bundling options);
 * - cold module load of each bundle (a fresh Node process importing it, with the Lambda's
 *   NODE_OPTIONS), wall and CPU time, median of BENCH_COLD_RUNS (default 7), beside the 150 ms target;
 *   with BENCH_BASELINE_ROOT=<another checkout>, the same handlers built from it, loaded alternately.
 * Prints the tables and writes them into docs/benchmarks.md between the registry markers (latencies)
 * and the registry-cold markers (bundles). `npm run bench:registry -- --cold-only` measures and
 * rewrites only the bundles.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { LAMBDA_BUNDLING, LAMBDA_NODE_OPTIONS } from "#cdk/lambda-bundling.ts";
import { ROUTES } from "#lambdas/routes.ts";
import { apiClient, REPO_ROOT, startTestPlatform } from "../test/support/platform.ts";
import { writeBenchmarkSection } from "./benchmarks-doc.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const BUNDLE_LIMIT = 300 * 1024;
const COLD_LIMIT_MS = 150;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 7);
const COLD_ONLY = process.argv.includes("--cold-only");

interface Row {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

async function measure(
  name: string,
  call: () => Promise<{ status: number }>,
  expected: number,
): Promise<Row> {
  for (let i = 0; i < 10; i++) await call(); // warm the handler, like a warm Lambda
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    const response = await call();
    times.push(performance.now() - start);
    if (response.status !== expected)
      throw new Error(`${name}: expected ${expected}, got ${response.status}`);
  }
  times.sort((a, b) => a - b);
  return { name, p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

async function latencies(): Promise<Row[]> {
  const platform = await startTestPlatform({ BYOM_LOG_LEVEL: "ERROR" });
  try {
    const api = apiClient(platform.config.apiUrl, platform.config.token);
    const rows: Row[] = [];
    const { body: project } = await api.call("POST", "/v1/projects", { name: "bench" });
    const p = `/v1/projects/${project.projectId}`;
    rows.push(await measure("GET /v1/health", () => api.call("GET", "/v1/health"), 200));
    rows.push(await measure("POST /v1/projects", () => api.call("POST", "/v1/projects", { name: "b" }), 201));
    rows.push(await measure("GET /v1/projects", () => api.call("GET", "/v1/projects?limit=20"), 200));
    rows.push(await measure("GET /v1/projects/{p}", () => api.call("GET", p), 200));
    const has = (path: string, method = "GET") => ROUTES.some((r) => r.path === path && r.method === method);
    if (has("/v1/projects/{projectId}/experiments", "POST")) {
      const schema = {
        input_schema: { json_value: [{ name: "x", type: "float64" }] },
        output_schema: { json_value: [{ name: "y", type: "float64" }] },
      };
      rows.push(
        await measure(
          "POST …/experiments",
          () => api.call("POST", `${p}/experiments`, { name: "e", metadata: schema }),
          201,
        ),
      );
      rows.push(await measure("GET …/experiments", () => api.call("GET", `${p}/experiments?limit=20`), 200));
      const { body: experiment } = await api.call("POST", `${p}/experiments`, { name: "one" });
      const e = `${p}/experiments/${experiment.experimentId}`;
      rows.push(await measure("GET …/experiments/{e}", () => api.call("GET", e), 200));
      rows.push(
        await measure(
          "PATCH …/experiments/{e}",
          () => api.call("PATCH", e, { metadata: { note: { string_value: "x" } } }),
          200,
        ),
      );
      if (has("/v1/projects/{projectId}/experiments/{experimentId}/artifacts", "POST")) {
        rows.push(
          await measure(
            "POST …/artifacts (presign)",
            () =>
              api.call("POST", `${e}/artifacts`, {
                type: "python/mlflow",
                fileName: "m.zip",
                sizeBytes: 1024,
              }),
            201,
          ),
        );
      }
    }
    if (has("/v1/projects/{projectId}/models/{modelId}/versions", "POST")) {
      const { body: model } = await api.call("POST", `${p}/models`, { name: "bench-model" });
      const m = `${p}/models/${model.modelId}`;
      const experiments: string[] = [];
      for (let i = 0; i < CALLS + 10; i++) {
        experiments.push((await api.call("POST", `${p}/experiments`, { name: `v${i}` })).body.experimentId);
      }
      let next = 0;
      rows.push(
        await measure(
          "POST …/versions (register)",
          () => api.call("POST", `${m}/versions`, { experimentId: experiments[next++] }),
          201,
        ),
      );
      rows.push(await measure("GET …/versions", () => api.call("GET", `${m}/versions?limit=20`), 200));
    }
    if (has("/v1/catalog/compositions")) {
      rows.push(
        await measure(
          "GET /v1/catalog/compositions",
          () => api.call("GET", "/v1/catalog/compositions?artifactType=python/mlflow"),
          200,
        ),
      );
    }
    return rows;
  } finally {
    await platform.stop();
  }
}

/**
 * Placeholder values for every variable a handler requires at load (`requireEnv` in lambdas/), so
 * each bundle loads as it would in its Lambda; nothing is called, so the values are never used.
 */
const BENCH_ENV: Record<string, string> = (() => {
  const names = new Set<string>();
  const files = execFileSync("git", ["ls-files", "lambdas"], { cwd: REPO_ROOT, encoding: "utf8" }).split(
    "\n",
  );
  for (const file of files.filter((f) => f.endsWith(".ts"))) {
    for (const match of readFileSync(join(REPO_ROOT, file), "utf8").matchAll(
      /requireEnv\("([A-Z0-9_]+)"\)/g,
    )) {
      names.add(match[1] as string);
    }
  }
  const value = (name: string) =>
    name.endsWith("_ARN")
      ? "arn:aws:states:us-east-1:000000000000:stateMachine:bench"
      : name.endsWith("_URL")
        ? "http://127.0.0.1:9"
        : name === "RUNTIME_IMAGES"
          ? "{}"
          : name === "AWS_REGION"
            ? "us-east-1"
            : "bench";
  return Object.fromEntries([...names].map((name) => [name, value(name)]));
})();

interface ColdLoad {
  /** Median wall time of the import, ms. */
  readonly wallMs: number;
  /** Median CPU time (user + system, all threads) of the same imports: less of the waiting a busy host adds. */
  readonly cpuMs: number;
}

interface BundleRow extends ColdLoad {
  readonly handler: string;
  readonly bytes: number;
  /** The host's 1-minute load average when this handler was measured. */
  readonly load: number;
  /** The same handler built from BENCH_BASELINE_ROOT, loaded in turn with this one. */
  readonly baseline?: ColdLoad;
}

/**
 * Another checkout of Byom (e.g. the main branch) to compare against: each handler is bundled from
 * both and the two are loaded alternately, so both see the same host load.
 */
const BASELINE_ROOT = process.env.BENCH_BASELINE_ROOT;

/** One fresh Node process importing `file`, as the Lambda runtime would: [wall ms, CPU ms]. */
function coldImport(file: string): [number, number] {
  const out = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(file)}); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);`,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...BENCH_ENV, NODE_OPTIONS: LAMBDA_NODE_OPTIONS },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  const [wall, cpu] = out.trim().split(" ").map(Number);
  return [wall as number, cpu as number];
}

async function bundleOf(root: string, handler: string, file: string): Promise<boolean> {
  try {
    statSync(join(root, handler));
  } catch {
    return false;
  }
  await build({ ...LAMBDA_BUNDLING, entryPoints: [join(root, handler)], outfile: file, absWorkingDir: root });
  return true;
}

async function bundles(): Promise<BundleRow[]> {
  // Inside the repository so that the external @aws-sdk packages resolve from node_modules, as they
  // do from the Lambda runtime.
  const out = join(REPO_ROOT, ".byom", "bench-bundles");
  mkdirSync(out, { recursive: true });
  const handlers = [...new Set(ROUTES.map((r) => r.handler))];
  for (const extra of ["lambdas/ingest/handlers/ingest.ts", "lambdas/catalog/handlers/seed-catalog.ts"]) {
    try {
      statSync(join(REPO_ROOT, extra));
      handlers.push(extra);
    } catch {
      // not there yet
    }
  }
  const rows: BundleRow[] = [];
  try {
    for (const handler of handlers) {
      const file = join(out, `${handler.replaceAll("/", "_")}.mjs`);
      await bundleOf(REPO_ROOT, handler, file);
      const baselineFile = join(out, `baseline-${handler.replaceAll("/", "_")}.mjs`);
      const compare = BASELINE_ROOT !== undefined && (await bundleOf(BASELINE_ROOT, handler, baselineFile));
      const runs: Array<[number, number]> = [];
      const baselineRuns: Array<[number, number]> = [];
      for (let i = 0; i < COLD_RUNS; i++) {
        runs.push(coldImport(file));
        if (compare) baselineRuns.push(coldImport(baselineFile));
      }
      const medians = (r: Array<[number, number]>): ColdLoad => ({
        wallMs: median(r.map(([wall]) => wall)),
        cpuMs: median(r.map(([, cpu]) => cpu)),
      });
      const row: BundleRow = {
        handler,
        bytes: statSync(file).size,
        ...medians(runs),
        load: loadavg()[0] as number,
        ...(compare ? { baseline: medians(baselineRuns) } : {}),
      };
      rows.push(row);
      console.log(
        `${handler.padEnd(56)} ${fmt(row.bytes / 1024).padStart(6)} KB  cold ${fmt(row.wallMs).padStart(6)} ms wall, ${fmt(row.cpuMs).padStart(6)} ms CPU  (target ≤ ${COLD_LIMIT_MS} ms; load ${row.load.toFixed(1)})${row.baseline ? `  baseline ${fmt(row.baseline.wallMs)} ms wall, ${fmt(row.baseline.cpuMs)} ms CPU` : ""}`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return rows;
}

function fmt(n: number): string {
  return n.toFixed(1);
}

const today = new Date().toISOString().slice(0, 10);
if (!COLD_ONLY) {
  const loadBefore = loadavg()[0] as number;
  const latencyRows = await latencies();
  const loadAfter = loadavg()[0] as number;
  const lines = [
    `Registry benchmark, ${today}, ${CALLS} sequential calls per endpoint against local mode (dynalite + s3rver, real HTTP), on this 2-core machine (shared: 1-minute load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end).`,
    "",
    "| endpoint | p50 ms | p99 ms |",
    "|---|---:|---:|",
    ...latencyRows.map((r) => `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} |`),
  ];
  console.log(lines.join("\n"));
  writeBenchmarkSection("registry", lines.join("\n"), { heading: "Registry" });
}

const coldLoadBefore = loadavg()[0] as number;
const bundleRows = await bundles();
const coldLoadAfter = loadavg()[0] as number;
const within = (r: BundleRow) => r.bytes <= BUNDLE_LIMIT && r.wallMs <= COLD_LIMIT_MS;
const compared = bundleRows.some((r) => r.baseline);
const coldLines = [
  `Lambda bundles, ${today} (esbuild, minified, with source maps, @aws-sdk external as in the Lambda runtime); cold module load = median of ${COLD_RUNS} fresh \`node\` imports with the Lambda's \`NODE_OPTIONS=${LAMBDA_NODE_OPTIONS}\`, as wall time and as CPU time (user + system) of the importing process, on this 2-core machine (shared: 1-minute load average ${coldLoadBefore.toFixed(1)} at the start, ${coldLoadAfter.toFixed(1)} at the end; each row gives it when the handler was measured).${compared ? " The baseline columns are the same handler built from another checkout (BENCH_BASELINE_ROOT), loaded alternately with this one so that both see the same load." : ""} The target is the wall time on a quiet host. On a busy one the wall time includes waiting for a core and the CPU time does not; but the CPU time counts every thread (V8 compiles and collects garbage on helper threads) and suffers from the other processes' cache use too, so neither stands in for the quiet-host figure. Targets: ≤ ${BUNDLE_LIMIT / 1024} KB, ≤ ${COLD_LIMIT_MS} ms.`,
  "",
  `| handler | bundle KB | cold load ms (wall) | cold load ms (CPU) | target ms | load (1 min) | within targets |${compared ? " baseline ms (wall) | baseline ms (CPU) |" : ""}`,
  `|---|---:|---:|---:|---:|---:|---|${compared ? "---:|---:|" : ""}`,
  ...bundleRows.map(
    (r) =>
      `| ${r.handler} | ${fmt(r.bytes / 1024)} | ${fmt(r.wallMs)} | ${fmt(r.cpuMs)} | ${COLD_LIMIT_MS} | ${r.load.toFixed(1)} | ${within(r) ? "yes" : "**no**"} |${compared ? ` ${r.baseline ? fmt(r.baseline.wallMs) : "–"} | ${r.baseline ? fmt(r.baseline.cpuMs) : "–"} |` : ""}`,
  ),
  "",
  `Largest bundle ${fmt(Math.max(...bundleRows.map((r) => r.bytes)) / 1024)} KB (${fmt((Math.max(...bundleRows.map((r) => r.bytes)) / BUNDLE_LIMIT) * 100)} % of the limit); median cold load ${fmt(median(bundleRows.map((r) => r.wallMs)))} ms wall, ${fmt(median(bundleRows.map((r) => r.cpuMs)))} ms CPU${compared ? ` (baseline ${fmt(median(bundleRows.flatMap((r) => (r.baseline ? [r.baseline.wallMs] : []))))} ms wall, ${fmt(median(bundleRows.flatMap((r) => (r.baseline ? [r.baseline.cpuMs] : []))))} ms CPU)` : ""}; slowest ${fmt(Math.max(...bundleRows.map((r) => r.wallMs)))} ms wall, ${fmt(Math.max(...bundleRows.map((r) => r.cpuMs)))} ms CPU; ${bundleRows.filter(within).length} of ${bundleRows.length} handlers within both targets.`,
];
console.log(coldLines.join("\n"));
writeBenchmarkSection("registry-cold", coldLines.join("\n"), { after: "registry" });
