import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../client/operations.ts";
import { runCli } from "../support/cli.ts";
import { REPO_ROOT, startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
let env: Record<string, string>;
beforeAll(async () => {
  platform = await startTestPlatform();
  env = { BYOM_HOME: platform.home };
});
afterAll(async () => {
  await platform?.stop();
});

const byom = (...args: string[]) => runCli(args, { env });

describe("byom projects", () => {
  it("creates a project and lists it, as a table and as JSON", async () => {
    const created = await byom("projects", "create", "cli-fraud", "--description", "card fraud", "--json");
    expect(created.code).toBe(0);
    const project = created.json();
    expect(project).toMatchObject({ name: "cli-fraud", description: "card fraud", role: "owner" });

    const table = await byom("projects", "list");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+ROLE/);
    expect(table.stdout).toContain(project.projectId);

    const shown = await byom("projects", "show", "cli-fraud");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/your role:\s+owner/);
  }, 300_000);

  it("answers usage errors with exit code 2 and a pointer to --help", async () => {
    const missing = await byom("projects", "create");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Missing <name>");
    expect(missing.stderr).toContain("byom projects create --help");

    const unknownOption = await byom("projects", "list", "--colour");
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--colour'");

    const unknownCommand = await byom("projets", "list");
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("byom --help");
  }, 300_000);

  it("shows the server's message and exits 1 when the server refuses", async () => {
    const refused = await byom("projects", "create", " ");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("name must not be empty");
    expect(refused.stderr).toContain("VALIDATION_FAILED");

    const unknown = await byom("projects", "show", "no-such-project");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No project named 'no-such-project'");
  }, 300_000);

  it("with --json reports failures as one JSON object on stderr, keeping the exit codes", async () => {
    const refused = await byom("projects", "create", " ", "--json");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    const error = JSON.parse(refused.stderr).error;
    expect(error).toMatchObject({ code: "VALIDATION_FAILED", status: 400 });
    expect(error.message).toContain("name must not be empty");

    const usage = await byom("projects", "create", "--json");
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr).error).toMatchObject({ code: "USAGE" });
    expect(JSON.parse(usage.stderr).error.message).toContain("Missing <name>");
  }, 300_000);

  it("says how to start local mode when no platform is configured", async () => {
    const result = await runCli(["projects", "list"], { env: { BYOM_HOME: "/nonexistent/byom-home" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("npm start");
  }, 300_000);
});

describe("byom projects members", () => {
  it("adds a member who then sees the project, lists members and removes one", async () => {
    await byom("projects", "create", "cli-team");
    const ana = platform.newUser("ana");
    const added = await byom(
      "projects",
      "members",
      "add",
      ana.principal,
      "--project",
      "cli-team",
      "--role",
      "viewer",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`${ana.principal} is viewer`);
    const seen = await runCli(["projects", "list", "--json"], {
      env: { ...env, BYOM_HOME: platform.home, BYOM_API_URL: platform.config.apiUrl, BYOM_TOKEN: ana.token },
    });
    expect(seen.json().items.map((p: { name: string; role: string }) => [p.name, p.role])).toEqual([
      ["cli-team", "viewer"],
    ]);

    const listed = await byom("projects", "members", "list", "--project", "cli-team");
    expect(listed.stdout).toMatch(/local:admin\s+owner/);
    expect(listed.stdout).toMatch(/local:ana\s+viewer/);

    const badRole = await byom(
      "projects",
      "members",
      "add",
      ana.principal,
      "--project",
      "cli-team",
      "--role",
      "boss",
    );
    expect(badRole.code).toBe(2);
    const removed = await byom("projects", "members", "remove", ana.principal, "--project", "cli-team");
    expect(removed.code, removed.stderr).toBe(0);
    const gone = await runCli(["projects", "show", "cli-team"], {
      env: { BYOM_API_URL: platform.config.apiUrl, BYOM_TOKEN: ana.token },
    });
    expect(gone.code).toBe(1);
  }, 300_000);
});

describe("byom experiments", () => {
  it("lists and shows experiments and sets a schema, rejecting a bad one with the server's message", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "cli-experiments" });
    const { body: experiment } = await platform.api.call(
      "POST",
      `/v1/projects/${project.projectId}/experiments`,
      {
        name: "churn",
        metadata: { framework: { string_value: "sklearn" } },
      },
    );

    const listed = await byom("experiments", "list", "--project", "cli-experiments");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(experiment.experimentId);
    expect(listed.stdout).toMatch(/churn\s+none/);

    const set = await byom(
      "experiments",
      "set-schema",
      "churn",
      "--project",
      project.projectId,
      "--input",
      "age:int32,income:Float64",
      "--output",
      "churn:float64",
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/age\s+Int32/);
    expect(set.stdout).toMatch(/churn\s+Float64/);

    const shown = await byom(
      "experiments",
      "show",
      experiment.experimentId,
      "--project",
      project.projectId,
      "--json",
    );
    expect(shown.code).toBe(0);
    expect(shown.json().metadata.input_schema.json_value).toEqual([
      { name: "age", type: "Int32" },
      { name: "income", type: "Float64" },
    ]);

    const bad = await byom(
      "experiments",
      "set-schema",
      "churn",
      "--project",
      project.projectId,
      "--input",
      "age:Decimal",
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("INVALID_SCHEMA");
    expect(bad.stderr).toContain("Decimal");
  }, 300_000);
});

describe("byom models", () => {
  it("registers experiments as versions 1 and 2, creating the model, and refuses a second registration", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "cli-models" });
    const p = project.projectId;
    for (const name of ["churn-a", "churn-b"]) {
      await platform.api.call("POST", `/v1/projects/${p}/experiments`, { name });
    }

    const first = await byom("models", "register", "churn-a", "--project", p, "--model", "churn");
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("Created model churn");
    expect(first.stdout).toContain("churn version 1");
    expect(first.stdout).toContain(`byom deploy churn@1 --project ${p}`);

    const second = await byom("models", "register", "churn-b", "--project", p, "--model", "churn", "--json");
    expect(second.code).toBe(0);
    expect(second.json().version.version).toBe(2);

    const again = await byom("models", "register", "churn-a", "--project", p, "--model", "churn");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("CONFLICT");

    const shown = await byom("models", "show", "churn", "--project", p);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/VERSION\s+EXPERIMENT/);
    expect(shown.stdout).toMatch(/^\s+2\s+exp-/m);

    const listed = await byom("models", "list", "--project", p, "--json");
    expect(listed.json().items.map((m: { name: string }) => m.name)).toEqual(["churn"]);

    const missing = await byom("models", "show", "nope", "--project", p);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No model named 'nope'");
  }, 300_000);
});

describe("byom catalog", () => {
  it("lists runtimes and the compositions that deploy an artifact type", async () => {
    const runtimes = await byom("catalog", "list", "runtimes");
    expect(runtimes.code, runtimes.stderr).toBe(0);
    expect(runtimes.stdout).toMatch(/^NAME\s+MODEL TYPE/);
    expect(runtimes.stdout).toContain("python-tabular-runtime");

    const compositions = await byom(
      "catalog",
      "compositions",
      "--artifact-type",
      "python/mlflow",
      "--framework",
      "sklearn",
      "--json",
    );
    expect(compositions.code, compositions.stderr).toBe(0);
    expect(compositions.json().items[0]).toMatchObject({ runtime: "python-tabular-runtime" });

    const wrongKind = await byom("catalog", "list", "engines");
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toContain("runtimes");
  }, 300_000);
});

describe("the typed client", () => {
  it("calls every operation with the method and path of the OpenAPI document the API serves", async () => {
    const { body: document } = await platform.api.call("GET", "/v1/openapi.json");
    for (const [operationId, { method, path }] of Object.entries(OPERATIONS)) {
      const operation = document.paths[path]?.[method.toLowerCase()];
      expect(operation?.operationId, `${method} ${path}`).toBe(operationId);
    }
    // And the other way round: an operation the API gained needs its line in client/operations.ts.
    const served = Object.values(document.paths).flatMap((methods: any) =>
      Object.values(methods).map((operation: any) => operation.operationId as string),
    );
    expect(served.filter((id) => !(id in OPERATIONS))).toEqual([]);
  }, 300_000);
});

describe("npx byom", () => {
  it("runs this repository's CLI through package.json's bin, without the registry", () => {
    const result = spawnSync("npx", ["--offline", "byom", "--version"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("byom 0.1.0");
  }, 120_000);
});

describe("byom --help", () => {
  it("gives every command a help text with an example", async () => {
    const top = await byom("--help");
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+(?: [a-z-]+)*) {2,}/gm)].map(
      (m) => m[1] as string,
    );
    expect(commands.length).toBeGreaterThan(3);
    for (const command of commands) {
      const help = await byom(...command.split(" "), "--help");
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/Examples?:\n {2}byom /);
    }
  }, 300_000);
});
