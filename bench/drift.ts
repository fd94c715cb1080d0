/**
 * `npm run bench:drift`: the drift endpoint's work for a million captured rows (BENCH_DRIFT_ROWS):
 * the rows written as runtimes write them (gzipped JSON Lines, one line per 10-row request, 10,000 rows a file, under
 * `{deployment}/{target}/dt=…/`), then read back and compared, half as baseline and half as the
 * window, by the same code GET …/drift runs (lambdas/monitoring/drift-report.ts). Local folder
 * store; on AWS the same bytes come from S3 GETs. Prints the timings (docs/monitoring.md).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { ResolvedTarget } from "#lambdas/deployments/deployment-record.ts";
import { CaptureStore } from "#lambdas/monitoring/capture-store.ts";

// The report module loads the repository (it is not used here).
process.env.TABLE_NAME ??= "bench-unused";
const { targetDrift } = await import("#lambdas/monitoring/drift-report.ts");
const ROWS = Number(process.env.BENCH_DRIFT_ROWS ?? 1_000_000);
const BATCH = 10_000;
const root = mkdtempSync(join(tmpdir(), "byom-bench-drift-"));
const target = {
  modelId: "mdl-bench",
  modelName: "bench",
  version: 1,
  role: "primary",
  inputSchema: [
    { name: "age", type: "Int64" },
    { name: "income", type: "Float64" },
    { name: "tenure", type: "Float64" },
    { name: "city", type: "String" },
  ],
  outputSchema: [{ name: "churn", type: "Int64" }],
} as unknown as ResolvedTarget;

let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

try {
  const started = performance.now();
  const folder = join(root, "dep-bench", "mdl-bench-v1", "dt=2026-12-01");
  mkdirSync(folder, { recursive: true });
  let bytes = 0;
  // Requests of 10 rows each, as a batch-scoring client might send them.
  const PER_REQUEST = 10;
  for (let file = 0; file * BATCH < ROWS; file++) {
    const lines: string[] = [];
    for (let first = file * BATCH; first < Math.min(ROWS, (file + 1) * BATCH); first += PER_REQUEST) {
      const rows = Math.min(PER_REQUEST, ROWS - first);
      const shift = first >= ROWS / 2 ? 20 : 0;
      const column = (value: () => unknown) => Array.from({ length: rows }, value);
      lines.push(
        JSON.stringify({
          at: new Date(Date.UTC(2026, 11, 1) + first * 10).toISOString(),
          rows,
          input: {
            age: column(() => 18 + Math.floor(random() * 70) + shift),
            income: column(() => (random() < 0.02 ? null : 30_000 + random() * 40_000)),
            tenure: column(() => random() * 10),
            city: column(() => `city${Math.floor(random() * 30)}`),
          },
          output: { churn: column(() => (random() < 0.3 ? 1 : 0)) },
        }),
      );
    }
    const gz = gzipSync(`${lines.join("\n")}\n`, { level: 5 });
    bytes += gz.length;
    writeFileSync(
      join(folder, `${String(file).padStart(6, "0")}-bench-1-${String(file).padStart(6, "0")}.jsonl.gz`),
      gz,
    );
  }
  const written = performance.now();
  const store = new CaptureStore({ kind: "folder", path: root });
  const from = new Date(Date.UTC(2026, 11, 1));
  const to = new Date(Date.UTC(2026, 11, 2));
  const times: number[] = [];
  let report: Awaited<ReturnType<typeof targetDrift>> | undefined;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    report = await targetDrift(store, "dep-bench", target, ROWS / 2, from, to);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const heapMiB = process.memoryUsage().rss / 1024 ** 2;
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        files: Math.ceil(ROWS / BATCH),
        gzippedMiB: +(bytes / 1024 ** 2).toFixed(1),
        writeSeconds: +((written - started) / 1000).toFixed(1),
        driftSeconds: times.map((t) => +(t / 1000).toFixed(2)),
        medianSeconds: +((times[1] as number) / 1000).toFixed(2),
        rssMiB: Math.round(heapMiB),
        baselineRows: report?.baseline.rows,
        windowRows: report?.rows,
        drifted: report?.columns.filter((c) => c.drifted).map((c) => c.name),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
