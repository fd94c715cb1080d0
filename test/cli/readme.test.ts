import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { type DeployModels, deployModels } from "../support/deployments.ts";
import { h2oMojos } from "../support/h2o.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";

/** The fenced block of README.md's "Using the CLI" section: the walkthrough people copy. */
function walkthrough(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((part) => part.startsWith("Using the CLI"));
  const block = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README.md has no ```bash block under '## Using the CLI'");
  return block
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/** Splits a command line like a shell does for the quoting the README uses ("…" and '…'). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}

let platform: TestPlatform;
let models: DeployModels;
let work: string;
beforeAll(async () => {
  models = await deployModels();
  platform = await startTestPlatform();
  work = mkdtempSync(join(tmpdir(), "byom-readme-"));
  copyFileSync(models.v1, join(work, "model.zip"));
  const { fields, rows } = models.expected;
  writeFileSync(join(work, "rows.csv"), [fields.join(","), ...rows.map((row) => row.join(","))].join("\n"));
  const mojo = (await h2oMojos()).binomial;
  copyFileSync(mojo.zip, join(work, "approvals.zip"));
  const applicants = mojo.expected.rows.slice(0, 3).map((row) => row.join(","));
  writeFileSync(join(work, "applicants.csv"), [mojo.expected.fields.join(","), ...applicants].join("\n"));
}, 900_000);
afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("README 'Using the CLI'", () => {
  it("runs every command of the walkthrough successfully, in order", async () => {
    const lines = walkthrough();
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const [npx, byom, ...args] = shellWords(line);
      expect(`${npx} ${byom}`, line).toBe("npx byom");
      const result = await runCli(args, { cwd: work, env: { BYOM_HOME: platform.home }, timeoutMs: 400_000 });
      expect(result.code, `${line}\n${result.stdout}\n${result.stderr}`).toBe(0);
    }
  }, 600_000);
});
