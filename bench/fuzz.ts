/**
 * `npm run fuzz`: schemathesis with every check and every phase (examples, coverage, fuzzing, and
 * the stateful phase following the document's links) against a fresh local platform's served
 * OpenAPI document. Prints the counts per check and per operation and every distinct failure, writes
 * them into docs/benchmarks.md between the fuzz markers, and exits 1 on any failure.
 * FUZZ_EXAMPLES (default 50) cases per operation and phase, FUZZ_SEED, FUZZ_MAX_SECONDS (900).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runFuzz } from "../test/support/fuzz.ts";
import { REPO_ROOT, startTestPlatform } from "../test/support/platform.ts";

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
  const file = join(REPO_ROOT, "docs/benchmarks.md");
  let text = readFileSync(file, "utf8");
  const begin = "<!-- fuzz:begin -->";
  const end = "<!-- fuzz:end -->";
  const block = `${begin}\n${content}\n${end}`;
  const pattern = new RegExp(`${begin}[\\s\\S]*?${end}`);
  text = pattern.test(text)
    ? text.replace(pattern, block)
    : `${text}\n## API contract fuzzing (\`npm run fuzz\`)\n\n${block}\n`;
  writeFileSync(file, text);
}
