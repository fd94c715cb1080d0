import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKOV_METADATA_KEY } from "#cdk/checkov-acknowledgements.ts";
import { run } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { REPO_ROOT } from "./platform.ts";

/** The pinned checkov venv (created once, reused): start it early, await it when scanning. */
export function checkovVenv() {
  return ensurePythonEnv("checkov", [join(REPO_ROOT, "test/fixtures/checkov-requirements.txt")]);
}

export interface CheckovReport {
  /** Failed checks of the template as synthesized, "CKV_… at <logical id>". */
  readonly unacknowledged: readonly string[];
  /** Acknowledgements (skip metadata) on a resource that passes that check without them. */
  readonly unneeded: readonly string[];
  /** How many acknowledged findings the template has: a scan that saw nothing would report 0. */
  readonly acknowledged: number;
}

type Template = { Resources: Record<string, { Metadata?: Record<string, any> }> };

/**
 * checkov on a synthesized template, twice at once: as written (its acknowledgements in
 * `Metadata.checkov.skip`, cdk/checkov-acknowledgements.ts) and with them stripped, to tell each
 * acknowledgement silences a finding that exists.
 */
export async function scanWithCheckov(templatePath: string): Promise<CheckovReport> {
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as Template;
  const acknowledged = new Set<string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    for (const skip of resource.Metadata?.[CHECKOV_METADATA_KEY]?.skip ?? []) {
      acknowledged.add(`${skip.id} at ${logicalId}`);
    }
    delete resource.Metadata?.[CHECKOV_METADATA_KEY];
  }
  const stripped = join(mkdtempSync(join(tmpdir(), "byom-checkov-")), "template.json");
  writeFileSync(stripped, JSON.stringify(template));
  const [asWritten, withoutAcknowledgements] = await Promise.all([
    failedChecks(templatePath),
    failedChecks(stripped),
  ]);
  const findings = new Set(withoutAcknowledgements);
  return {
    unacknowledged: asWritten,
    unneeded: [...acknowledged].filter((ack) => !findings.has(ack)),
    acknowledged: acknowledged.size,
  };
}

/** checkov's failed checks, "CKV_… at <logical id>"; offline (--skip-download), results read from its file. */
async function failedChecks(templatePath: string): Promise<string[]> {
  const venv = await checkovVenv();
  const outputDir = mkdtempSync(join(tmpdir(), "byom-checkov-out-"));
  await run(venv.bin("checkov"), [
    ...["--file", templatePath, "--framework", "cloudformation"],
    ...["--output", "json", "--output-file-path", outputDir],
    ...["--quiet", "--soft-fail", "--skip-download"],
  ]);
  const results = JSON.parse(readFileSync(join(outputDir, "results_json.json"), "utf8"));
  // One object per framework; a list when checkov ran more than one.
  const reports = (Array.isArray(results) ? results : [results]) as Array<{
    results?: { failed_checks?: Array<{ check_id: string; resource: string }> };
  }>;
  return reports.flatMap((report) =>
    (report.results?.failed_checks ?? []).map(
      (failed) => `${failed.check_id} at ${failed.resource.slice(failed.resource.indexOf(".") + 1)}`,
    ),
  );
}
