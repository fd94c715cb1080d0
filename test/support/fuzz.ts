import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePythonEnv } from "#local/python-env.ts";
import { REPO_ROOT } from "./platform.ts";

/**
 * Schemathesis (PyPI) against a running local platform's served OpenAPI document, with every check
 * and every phase (examples, coverage, fuzzing, stateful through the document's links). Used by
 * `npm run fuzz` (bench/fuzz.ts) and, bounded, by test/registry/fuzz.test.ts.
 */
export interface FuzzOptions {
  readonly apiUrl: string;
  readonly token: string;
  /** Test cases per operation and phase (schemathesis -n). */
  readonly maxExamples: number;
  readonly seed?: number;
  /** Seconds for the whole run; schemathesis stops generating when it is spent. */
  readonly maxTimeSeconds?: number;
  readonly phases?: readonly ("examples" | "coverage" | "fuzzing" | "stateful")[];
}

export interface CheckCount {
  passed: number;
  failed: number;
}

export interface FuzzFailure {
  readonly operation: string;
  readonly check: string;
  readonly title: string;
  readonly message: string;
}

export interface FuzzReport {
  readonly exitCode: number;
  /** operation label ("POST /v1/projects", or "Stateful tests") → cases sent and failed checks. */
  readonly operations: Map<string, { cases: number; failures: number }>;
  readonly checks: Map<string, CheckCount>;
  /** Unique failures (operation, check, message). */
  readonly failures: readonly FuzzFailure[];
  /** The CLI's own summary: what to read when the counts are not what they should be. */
  readonly output: string;
}

const REQUIREMENTS = join(REPO_ROOT, "test/fixtures/schemathesis-requirements.txt");
const HOOKS_DIR = join(REPO_ROOT, "test/fixtures");

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const venv = await ensurePythonEnv("schemathesis", [REQUIREMENTS]);
  const reportDir = mkdtempSync(join(tmpdir(), "byom-fuzz-"));
  try {
    const args = [
      "--config-file",
      join(HOOKS_DIR, "schemathesis.toml"),
      "run",
      `${options.apiUrl}/v1/openapi.json`,
      "--url",
      options.apiUrl,
      "--header",
      `Authorization: Bearer ${options.token}`,
      "--checks",
      "all",
      "--max-examples",
      String(options.maxExamples),
      "--phases",
      (options.phases ?? ["examples", "coverage", "fuzzing", "stateful"]).join(","),
      "--workers",
      "1",
      "--no-color",
      "--report",
      "ndjson",
      "--report-dir",
      reportDir,
      ...(options.seed === undefined ? [] : ["--seed", String(options.seed)]),
      ...(options.maxTimeSeconds === undefined ? [] : ["--max-time", String(options.maxTimeSeconds)]),
    ];
    const { code, output } = await runCli(venv.bin("schemathesis"), args, reportDir);
    const ndjson = readdirSync(reportDir).find((f) => f.endsWith(".ndjson"));
    if (!ndjson) throw new Error(`schemathesis wrote no report (exit ${code}):\n${output.slice(-4000)}`);
    return { exitCode: code, output, ...countEvents(readFileSync(join(reportDir, ndjson), "utf8")) };
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

interface CheckEvent {
  readonly name: string;
  readonly status: string;
  readonly failure_info?: { readonly failure: { operation: string; title: string; message: string } };
}

interface RecordedCase {
  readonly value: { readonly method: string; readonly path: string };
}

function countEvents(ndjson: string): Pick<FuzzReport, "operations" | "checks" | "failures"> {
  const operations = new Map<string, { cases: number; failures: number }>();
  const checks = new Map<string, CheckCount>();
  const failures = new Map<string, FuzzFailure>();
  for (const line of ndjson.split("\n")) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    const recorder = JSON.parse(line).ScenarioFinished.recorder as {
      label: string;
      cases?: Record<string, RecordedCase>;
      checks?: Record<string, CheckEvent[]>;
    };
    for (const [caseId, results] of Object.entries(recorder.checks ?? {})) {
      const sent = recorder.cases?.[caseId]?.value;
      const operation =
        recorder.label === "Stateful tests" && sent ? `${sent.method} ${sent.path}` : recorder.label;
      const counts = operations.get(operation) ?? { cases: 0, failures: 0 };
      counts.cases += 1;
      operations.set(operation, counts);
      for (const result of results) {
        const count = checks.get(result.name) ?? { passed: 0, failed: 0 };
        if (result.status === "failure") {
          count.failed += 1;
          counts.failures += 1;
          const failure = result.failure_info?.failure;
          const entry: FuzzFailure = {
            operation: failure?.operation ?? operation,
            check: result.name,
            title: failure?.title ?? result.name,
            message: failure?.message ?? "",
          };
          failures.set(`${entry.operation}|${entry.check}|${entry.message}`, entry);
        } else if (result.status === "success") {
          count.passed += 1;
        }
        checks.set(result.name, count);
      }
    }
  }
  return { operations, checks, failures: [...failures.values()] };
}

function runCli(
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, [...args], {
      env: { ...process.env, SCHEMATHESIS_HOOKS: "schemathesis_hooks", PYTHONPATH: HOOKS_DIR },
      // Its example database (.schemathesis/) goes with the report folder, not into the repository.
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
