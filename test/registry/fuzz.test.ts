import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FuzzReport, runFuzz } from "../support/fuzz.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

// `npm run fuzz` in short: schemathesis, every check and every phase (the stateful one through the
// document's links), a couple of cases per operation. The full run's counts are in docs/benchmarks.md.
let platform: TestPlatform;
let report: FuzzReport;

beforeAll(async () => {
  platform = await startTestPlatform();
  report = await runFuzz({
    apiUrl: platform.config.apiUrl,
    token: platform.config.token,
    maxExamples: 2,
    seed: 7,
    maxTimeSeconds: 300,
  });
}, 900_000);
afterAll(async () => {
  await platform?.stop();
});

describe("the API contract under schemathesis", () => {
  it("finds no failure of any check", () => {
    expect(report.failures, report.output.slice(-6000)).toEqual([]);
    expect(report.exitCode, report.output.slice(-3000)).toBe(0);
  });

  it("exercised every operation of the document with every check", async () => {
    const document = (await (await fetch(`${platform.config.apiUrl}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const missing = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .map((method) => `${method.toUpperCase()} ${path}`)
        .filter((operation) => !(report.operations.get(operation)?.cases ?? 0)),
    );
    // Schemathesis leaves out the document's own URL.
    expect(missing).toEqual(["GET /v1/openapi.json"]);
    for (const check of [
      "not_a_server_error",
      "response_schema_conformance",
      "positive_data_acceptance",
      "negative_data_rejection",
      "unsupported_method",
      "use_after_free",
    ]) {
      expect(report.checks.get(check)?.passed, check).toBeGreaterThan(0);
    }
  });
});
