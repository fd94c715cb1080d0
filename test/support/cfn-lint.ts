import { join } from "node:path";
import { run } from "#local/processes.ts";
import { ensurePythonEnv } from "#local/python-env.ts";
import { REPO_ROOT } from "./platform.ts";

/** The pinned cfn-lint venv (created once, reused): start it early, await it when linting. */
export function cfnLintVenv() {
  return ensurePythonEnv("cfn-lint", [join(REPO_ROOT, "test/fixtures/cfn-lint-requirements.txt")]);
}

/** cfn-lint's error-level findings on a template, one line each (warnings are not failures). */
export async function cfnLintErrors(templatePath: string): Promise<string[]> {
  const venv = await cfnLintVenv();
  const output = await run(
    "bash",
    ["-c", `"${venv.bin("cfn-lint")}" --format json "${templatePath}" || true`],
    {
      cwd: REPO_ROOT,
    },
  );
  const findings = JSON.parse(output.slice(output.indexOf("["))) as Array<{
    Level: string;
    Rule: { Id: string };
    Message: string;
    Location: { Path: unknown[] };
  }>;
  return findings
    .filter((f) => f.Level === "Error")
    .map((f) => `${f.Rule.Id} ${f.Message} at ${JSON.stringify(f.Location.Path)}`);
}
