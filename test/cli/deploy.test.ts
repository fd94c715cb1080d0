import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { type DeployModels, deployModels } from "../support/deployments.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let models: DeployModels;
let env: Record<string, string>;
let work: string;
beforeAll(async () => {
  models = await deployModels();
  platform = await startTestPlatform();
  env = { BYOM_HOME: platform.home };
  work = mkdtempSync(join(tmpdir(), "byom-cli-deploy-"));
}, 900_000);
afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const byom = (...args: string[]) => runCli(args, { env, timeoutMs: 400_000 });

describe("byom deploy and score", () => {
  it("uploads, registers, deploys with progress, scores a CSV and JSON, and deletes", async () => {
    expect((await byom("projects", "create", "cli-deploy")).code).toBe(0);
    const uploaded = await byom("upload", models.v1, "--project", "cli-deploy", "--name", "churn-v1");
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const registered = await byom(
      "models",
      "register",
      "churn-v1",
      "--project",
      "cli-deploy",
      "--model",
      "churn",
    );
    expect(registered.code, registered.stderr).toBe(0);

    const deployed = await byom("deploy", "churn@1", "--project", "cli-deploy", "--name", "churn", "--wait");
    expect(deployed.code, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout).toContain("is HEALTHY");
    for (const state of ["PENDING", "PROCESSING", "STARTING", "HEALTHY"])
      expect(deployed.stderr).toContain(state);

    const { fields, rows, v1 } = models.expected;
    const csv = join(work, "rows.csv");
    writeFileSync(csv, [fields.join(","), ...rows.map((row) => row.join(","))].join("\n"));
    const table = await byom("score", "churn", "--project", "cli-deploy", "--csv", csv);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines).toHaveLength(rows.length + 1);
    expect(lines.slice(1).map((line) => line.trim().split(/\s+/)[0])).toEqual(v1);
    // --csv with --format csv: the file went as text/csv and the scorer's CSV answer comes back as it is.
    const csvOut = await byom("score", "churn", "--project", "cli-deploy", "--csv", csv, "--format", "csv");
    expect(csvOut.code, csvOut.stderr).toBe(0);
    const csvLines = csvOut.stdout.trim().split("\n");
    expect(csvLines[0]).toMatch(/^"?[A-Za-z_]/);
    expect(csvLines.slice(1).map((line) => line.split(",")[0]?.replace(/"/g, ""))).toEqual(v1);

    const json = join(work, "rows.json");
    writeFileSync(
      json,
      JSON.stringify(rows.map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i]])))),
    );
    const asCsv = await byom("score", "churn", "--project", "cli-deploy", "--json", json, "--format", "csv");
    expect(asCsv.code, asCsv.stderr).toBe(0);
    expect(
      asCsv.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((line) => line.split(",")[0]),
    ).toEqual(v1);

    const badRow = join(work, "bad.csv");
    writeFileSync(badRow, `${fields.join(",")}\n${fields.map(() => "not-a-number").join(",")}\n`);
    const refused = await byom("score", "churn", "--project", "cli-deploy", "--csv", badRow);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("The scorer refused the request");

    const listed = await byom("deployments", "list", "--project", "cli-deploy");
    expect(listed.stdout).toMatch(/churn\s+single\s+HEALTHY\s+churn@1/);

    // Version 2 replaces version 1 in place.
    expect((await byom("upload", models.v2, "--project", "cli-deploy", "--name", "churn-v2")).code).toBe(0);
    expect(
      (await byom("models", "register", "churn-v2", "--project", "cli-deploy", "--model", "churn")).code,
    ).toBe(0);
    const updated = await byom(
      "deployments",
      "update",
      "churn",
      "churn@2",
      "--project",
      "cli-deploy",
      "--wait",
    );
    expect(updated.code, `${updated.stdout}\n${updated.stderr}`).toBe(0);
    expect(updated.stdout).toContain("serves churn@2 (revision 2)");
    expect(updated.stderr).toContain("Revision 2 requested");
    const second = await byom("score", "churn", "--project", "cli-deploy", "--csv", csv, "--format", "json");
    expect(second.json().score.map((row: string[]) => row[0])).toEqual(models.expected.v2);
    const shown = await byom("deployments", "show", "churn", "--project", "cli-deploy");
    expect(shown.stdout).toMatch(/status:\s+HEALTHY/);
    expect(shown.stdout).toContain("python-tabular-runtime");

    const deleted = await byom("deployments", "delete", "churn", "--project", "cli-deploy", "--wait");
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain("DELETED");
  }, 600_000);

  it("deploys A/B with weights behind a passphrase, and champion/challenger", async () => {
    const p = "cli-deploy";
    const passphrase = "correct horse battery staple";
    const ab = await byom(
      "deploy",
      "churn@1",
      "churn@2",
      "--project",
      p,
      "--name",
      "split",
      "--mode",
      "ab",
      "--weights",
      "70,30",
      "--passphrase",
      passphrase,
      "--capture",
      "25",
      "--baseline-rows",
      "300",
      "--wait",
    );
    expect(ab.code, `${ab.stdout}\n${ab.stderr}`).toBe(0);
    const shown = await byom("deployments", "show", "split", "--project", p, "--json");
    expect(shown.json().capture).toEqual({ samplePercent: 25, baselineRows: 300 });
    expect(
      shown.json().serving.map((s: { version: number; weight: number }) => [s.version, s.weight]),
    ).toEqual([
      [1, 70],
      [2, 30],
    ]);
    expect(shown.json().security).toEqual({ mode: "passphrase" });

    const { fields, rows } = models.expected;
    const csv = join(work, "ab.csv");
    writeFileSync(csv, [fields.join(","), ...rows.map((row) => row.join(","))].join("\n"));
    const locked = await byom("score", "split", "--project", p, "--csv", csv);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain("needs its passphrase");
    const unlocked = await runCli(["score", "split", "--project", p, "--csv", csv], {
      env: { ...env, BYOM_PASSPHRASE: passphrase },
    });
    expect(unlocked.code, unlocked.stderr).toBe(0);

    const cc = await byom(
      "deploy",
      "churn@1",
      "churn@2",
      "--project",
      p,
      "--name",
      "shadow",
      "--mode",
      "champion_challenger",
      "--wait",
    );
    expect(cc.code, `${cc.stdout}\n${cc.stderr}`).toBe(0);
    const roles = await byom("deployments", "show", "shadow", "--project", p);
    expect(roles.stdout).toMatch(/churn@1\s+champion/);
    expect(roles.stdout).toMatch(/churn@2\s+challenger/);
    const answered = await byom("score", "shadow", "--project", p, "--csv", csv, "--format", "json");
    expect(answered.json().score.map((row: string[]) => row[0])).toEqual(models.expected.v1);

    for (const name of ["split", "shadow"]) {
      expect((await byom("deployments", "delete", name, "--project", p, "--wait")).code).toBe(0);
    }
  }, 600_000);

  it("refuses a deployment of a version without a schema with the server's 409", async () => {
    const p = "cli-deploy";
    const up = await byom("upload", models.noSignature, "--project", p, "--name", "no-schema");
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("(not set: byom experiments set-schema");
    expect((await byom("models", "register", "no-schema", "--project", p, "--model", "bare")).code).toBe(0);
    const refused = await byom("deploy", "bare@1", "--project", p, "--wait");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/schema/i);
    expect(refused.stderr).toContain("HTTP 409");

    const usage = await byom("deploy", "bare", "--project", p);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("not <model>@<version>");
    const share = await byom("deploy", "bare@1", "--project", p, "--capture", "150");
    expect(share.code).toBe(2);
    expect(share.stderr).toContain("--capture must be a number from 0 to 100, not '150'");
    const rowsAlone = await byom("deploy", "bare@1", "--project", p, "--baseline-rows", "10");
    expect(rowsAlone.code).toBe(2);
    expect(rowsAlone.stderr).toContain("--baseline-rows goes with --capture <percent>");
    // Refused before anything was asked of the API: still no deployment of it.
    expect(
      (await byom("deployments", "list", "--project", p, "--json"))
        .json()
        .items.map((d: { name: string }) => d.name),
    ).not.toContain("bare-v1");
  }, 600_000);
});
