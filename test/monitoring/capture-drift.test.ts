import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, waitFor } from "#local/processes.ts";
import { mlflowVenv } from "../support/artifacts.ts";
import { runCli } from "../support/cli.ts";
import { type DeployModels, deployModels } from "../support/deployments.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { seededRandom } from "../support/seeded-random.ts";

let platform: TestPlatform;
let models: DeployModels;
let env: Record<string, string>;
beforeAll(async () => {
  models = await deployModels();
  // Batches written every second, so the drift answer sees rows soon after they are scored.
  platform = await startTestPlatform({ BYOM_CAPTURE_FLUSH_SECONDS: "1" });
  env = { BYOM_HOME: platform.home };
}, 900_000);
afterAll(async () => {
  await platform?.stop();
});

const byom = (...args: string[]) => runCli(args, { env, timeoutMs: 400_000 });

/** Rows like the models' training data; `shift` moves age and income up. */
function draw(seed: number, n: number, shift = 0): [number, number, number][] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const normal = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return [18 + Math.floor(r() * 72) + shift * 15, 50_000 + 12_000 * normal + shift * 15_000, r() * 10];
  });
}

describe("request capture and drift in local mode", () => {
  it("captures every request at 100 %, and shows drift only in the window scored with drifted data", async () => {
    const p = "monitoring";
    expect((await byom("projects", "create", p)).code).toBe(0);
    expect((await byom("upload", models.v1, "--project", p, "--name", "churn-v1")).code).toBe(0);
    expect((await byom("models", "register", "churn-v1", "--project", p, "--model", "churn")).code).toBe(0);
    const deployed = await byom("deploy", "churn@1", "--project", p, "--name", "churn", "--wait");
    expect(deployed.code, deployed.stderr).toBe(0);

    const projects = await platform.api.call("GET", "/v1/projects?limit=100");
    const projectId = projects.body.items.find((x: { name: string }) => x.name === p).projectId as string;
    const list = await platform.api.call("GET", `/v1/projects/${projectId}/deployments`);
    const deploymentId = list.body.items[0].deploymentId as string;
    const path = `/v1/projects/${projectId}/deployments/${deploymentId}`;
    expect((await platform.api.call("GET", path)).body.capture).toEqual({
      samplePercent: 0,
      baselineRows: 1000,
    });

    // Bad settings are refused and change nothing.
    const refused = await platform.api.call("PATCH", path, { capture: { samplePercent: 150 } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("samplePercent");
    expect((await platform.api.call("PATCH", path, {})).status).toBe(400);
    expect((await platform.api.call("GET", path)).body.revision).toBe(1);

    const capture = await byom(
      "deployments",
      "capture",
      "churn",
      "100",
      "--baseline-rows",
      "600",
      "--project",
      p,
    );
    expect(capture.code, capture.stderr).toBe(0);
    await waitFor(
      "revision 2 to serve",
      async () => {
        const d = (await platform.api.call("GET", path)).body;
        if (d.failureReason) throw new Error(d.failureReason);
        return d.liveRevision === 2 && d.status === "HEALTHY" ? d : undefined;
      },
      300_000,
    );
    expect((await platform.api.call("GET", path)).body.capture).toEqual({
      samplePercent: 100,
      baselineRows: 600,
    });

    const fields = ["age", "income", "tenure"];
    const endpoint = (await platform.api.call("GET", path)).body.endpointUrl as string;
    const score = async (rows: [number, number, number][]) => {
      const outputs: unknown[] = [];
      for (let i = 0; i < rows.length; i += 100) {
        const response = await fetch(`${endpoint}/model/score`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ fields, rows: rows.slice(i, i + 100) }),
        });
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { score: string[][] };
        outputs.push(...answer.score.map((row) => Number(row[0])));
      }
      return outputs;
    };
    const baseline = draw(1, 600);
    const same = draw(2, 600);
    const drifted = draw(3, 600, 1);
    const baselineOut = await score(baseline);
    const sameOut = await score(same);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const switchAt = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const driftedOut = await score(drifted);

    const drift = (query: string) =>
      waitFor(
        `1800 captured rows (${query})`,
        async () => {
          const answer = await platform.api.call("GET", `${path}/drift?${query}`);
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          const target = answer.body.targets[0];
          return target.baseline.rows === 600 && target.rows === 600 ? answer.body : undefined;
        },
        120_000,
      );
    const before = await drift(`to=${encodeURIComponent(switchAt)}`);
    const after = await drift(`from=${encodeURIComponent(switchAt)}`);
    expect(before.targets[0].drifted).toBe(false);
    expect(after.targets[0].drifted).toBe(true);
    const byName = (report: any) =>
      Object.fromEntries(report.targets[0].columns.map((c: any) => [c.name, c]));
    expect(byName(after).age.drifted).toBe(true);
    expect(byName(after).income.drifted).toBe(true);
    expect(byName(after).tenure.drifted).toBe(false);
    expect(Object.keys(byName(after))).toHaveLength(4); // three inputs and the model's output

    // The same figures from numpy, on what this test sent and was answered.
    const columnOf = (rows: [number, number, number][], outputs: unknown[], name: string) =>
      name === fields[0] || name === fields[1] || name === fields[2]
        ? rows.map((row) => row[fields.indexOf(name)])
        : outputs;
    const reports = [before, after];
    const input = {
      columns: reports.flatMap((report, k) =>
        report.targets[0].columns.map((c: any) => ({
          kind: c.type === "String" || c.type === "Boolean" ? "categorical" : "numeric",
          baseline: columnOf(baseline, baselineOut, c.name),
          current: k === 0 ? columnOf(same, sameOut, c.name) : columnOf(drifted, driftedOut, c.name),
        })),
      ),
    };
    const file = join(REPO_ROOT, ".byom", `capture-drift-${process.pid}.json`);
    mkdirSync(join(REPO_ROOT, ".byom"), { recursive: true });
    writeFileSync(file, JSON.stringify(input));
    let reference: { psi: number; missingBaseline: number; missingCurrent: number }[];
    try {
      const venv = await mlflowVenv();
      const script = join(REPO_ROOT, "test/fixtures/drift_reference.py");
      reference = JSON.parse(await run("sh", ["-c", `"${venv.python}" "${script}" < "${file}"`]));
    } finally {
      rmSync(file, { force: true });
    }
    const computed = reports.flatMap((report) => report.targets[0].columns);
    computed.forEach((c: any, i: number) => {
      expect(c.psi, c.name).toBeCloseTo(reference[i]?.psi as number, 9);
      expect(c.missingRate.current, c.name).toBeCloseTo(reference[i]?.missingCurrent as number, 12);
    });

    const cli = await byom("deployments", "drift", "churn", "--project", p, "--from", switchAt, "--json");
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.json().targets[0].columns).toEqual(after.targets[0].columns);
    const table = await byom("deployments", "drift", "churn", "--project", p, "--from", switchAt);
    expect(table.code, table.stderr).toBe(0);
    // docs/monitoring.md's worked example comes from this output.
    if (process.env.BYOM_TEST_VERBOSE)
      process.stderr.write(`${table.stdout}\n${JSON.stringify(after, null, 2)}\n`);
    expect(table.stdout).toMatch(/age\s+input\s+Int64\s+\d+\.\d{3}\s+[█·]{10}/);
    expect(table.stdout).toMatch(/tenure.*no/);
    expect(table.stdout).toContain("→");

    const bad = await platform.api.call(
      "GET",
      `${path}/drift?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z`,
    );
    expect(bad.status).toBe(400);

    // A reference dataset attached to the version replaces the captured baseline; it has no output
    // column, so only the inputs are compared.
    const referenceRows = draw(4, 800);
    const csvFile = join(platform.home, "reference.csv");
    writeFileSync(csvFile, `${fields.join(",")}\n${referenceRows.map((row) => row.join(",")).join("\n")}\n`);
    const attached = await byom("models", "reference", "churn@1", csvFile, "--project", p);
    expect(attached.code, attached.stderr).toBe(0);
    const tooLarge = await platform.api.call(
      "PUT",
      `/v1/projects/${projectId}/models/${before.targets[0].modelId}/versions/1/reference-dataset`,
      { format: "csv", sizeBytes: 2 ** 40 },
    );
    expect(tooLarge.status).toBe(400);
    const referenced = (await platform.api.call("GET", `${path}/drift?from=${encodeURIComponent(switchAt)}`))
      .body;
    const target = referenced.targets[0];
    expect(target.baseline).toEqual({ source: "reference", rows: 800, wanted: 800 });
    expect(target.rows).toBe(600);
    expect(target.columns.map((c: any) => c.name)).toEqual(fields);
    expect(target.drifted).toBe(true);
    const againstReference = join(REPO_ROOT, ".byom", `capture-drift-ref-${process.pid}.json`);
    writeFileSync(
      againstReference,
      JSON.stringify({
        columns: fields.map((f) => ({
          kind: "numeric",
          baseline: columnOf(referenceRows, [], f),
          current: columnOf(drifted, driftedOut, f),
        })),
      }),
    );
    try {
      const venv = await mlflowVenv();
      const script = join(REPO_ROOT, "test/fixtures/drift_reference.py");
      const expected = JSON.parse(
        await run("sh", ["-c", `"${venv.python}" "${script}" < "${againstReference}"`]),
      );
      target.columns.forEach((c: any, i: number) => {
        expect(c.psi, c.name).toBeCloseTo(expected[i].psi, 9);
      });
    } finally {
      rmSync(againstReference, { force: true });
    }
    const quiet = (await platform.api.call("GET", `${path}/drift?to=${encodeURIComponent(switchAt)}`)).body;
    expect(quiet.targets[0].rows).toBe(1200);
    expect(quiet.targets[0].drifted).toBe(false);

    // A Parquet reference written by pyarrow (age INT64, which hyparquet reads as bigint; every
    // 20th income missing) replaces the CSV one: the last uploaded counts.
    const parquetRows: (number | null)[][] = draw(5, 700).map((row, i) =>
      i % 20 === 0 ? [row[0], null, row[2]] : row,
    );
    const parquetFile = join(platform.home, "reference.parquet");
    const parquetRowsFile = join(platform.home, "reference-rows.json");
    writeFileSync(parquetRowsFile, JSON.stringify(parquetRows));
    const venv = await mlflowVenv();
    await run(venv.python, [
      "-c",
      [
        "import json, sys, pyarrow as pa, pyarrow.parquet as pq",
        "rows = json.load(open(sys.argv[1]))",
        "pq.write_table(pa.table({'age': pa.array([r[0] for r in rows], pa.int64()),",
        "  'income': pa.array([r[1] for r in rows], pa.float64()), 'tenure': pa.array([r[2] for r in rows], pa.float64())}), sys.argv[2])",
      ].join("\n"),
      parquetRowsFile,
      parquetFile,
    ]);
    const parquetAttached = await byom("models", "reference", "churn@1", parquetFile, "--project", p);
    expect(parquetAttached.code, parquetAttached.stderr).toBe(0);
    const fromParquet = (await platform.api.call("GET", `${path}/drift?from=${encodeURIComponent(switchAt)}`))
      .body.targets[0];
    expect(fromParquet.baseline).toEqual({ source: "reference", rows: 700, wanted: 700 });
    expect(fromParquet.columns.map((c: any) => c.name)).toEqual(fields);
    const againstParquet = join(REPO_ROOT, ".byom", `capture-drift-parquet-${process.pid}.json`);
    writeFileSync(
      againstParquet,
      JSON.stringify({
        columns: fields.map((f, k) => ({
          kind: "numeric",
          baseline: parquetRows.map((row) => row[k]),
          current: columnOf(drifted, driftedOut, f),
        })),
      }),
    );
    try {
      const script = join(REPO_ROOT, "test/fixtures/drift_reference.py");
      const expected = JSON.parse(
        await run("sh", ["-c", `"${venv.python}" "${script}" < "${againstParquet}"`]),
      );
      fromParquet.columns.forEach((c: any, i: number) => {
        expect(c.psi, c.name).toBeCloseTo(expected[i].psi, 9);
        expect(c.missingRate.baseline, c.name).toBeCloseTo(expected[i].missingBaseline, 12);
      });
    } finally {
      rmSync(againstParquet, { force: true });
    }
    expect(fromParquet.columns[1].missingRate.baseline).toBeCloseTo(35 / 700, 12);
    expect(fromParquet.drifted).toBe(true);
  }, 900_000);
});
