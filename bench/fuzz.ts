import { runFuzz } from "../test/support/fuzz.ts";
import { startTestPlatform } from "../test/support/platform.ts";
import { writeBenchmarkSection } from "./benchmarks-doc.ts";

const examples = Number(process.env.FUZZ_EXAMPLES ?? 50);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const maxSeconds = Number(process.env.FUZZ_MAX_SECONDS ?? 900);

const platform = await startTestPlatform({ BYOM_LOG_LEVEL: "ERROR" });
const started = performance.now();
let report: Awaited<ReturnType<typeof runFuzz>>;
try {
  report = await runFuzz({
    apiUrl: platform.config.apiUrl,
    token: platform.config.token,
    maxExamples: examples,
    maxTimeSeconds: maxSeconds,
    ...(seed === undefined ? {} : { seed }),
  });
} finally {
  await platform.stop();
}
const seconds = (performance.now() - started) / 1000;

const cases = [...report.operations.values()].reduce((sum, o) => sum + o.cases, 0);
const lines = [
  `schemathesis ${examples} cases per operation and phase, all checks, all phases; ${report.operations.size} operations (stateful steps counted under their operation), ${cases} cases, ${report.failures.length} distinct failures, ${seconds.toFixed(0)} s on the shared 2-core machine.`,
  "",
  "| Check | Passed | Failed |",
  "|---|---:|---:|",
  ...[...report.checks.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => `| ${name} | ${c.passed} | ${c.failed} |`),
  "",
  "| Operation | Cases | Failed checks |",
  "|---|---:|---:|",
  ...[...report.operations.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, o]) => `| \`${name}\` | ${o.cases} | ${o.failures} |`),
];
console.log(lines.join("\n"));
for (const failure of report.failures) {
  console.log(`\nFAILED ${failure.operation} — ${failure.check} (${failure.title})\n${failure.message}`);
}
if (report.failures.length > 0 || report.exitCode !== 0) {
  console.log(`\nschemathesis exited with ${report.exitCode}; its summary:\n${report.output.slice(-6000)}`);
}
writeSection(lines.join("\n"));
process.exit(report.failures.length === 0 && report.exitCode === 0 ? 0 : 1);

function writeSection(content: string): void {
  writeBenchmarkSection("fuzz", content, { heading: "API contract fuzzing (`npm run fuzz`)" });
}
