import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import {
  EXAMPLE_AWS_ENV as awsEnv,
  expectSignedOverWhatArrived,
  type RecordingApi,
  startRecordingProjectsApi,
} from "../support/sigv4.ts";

let api: RecordingApi;
let apiUrl: string;
beforeAll(async () => {
  api = await startRecordingProjectsApi();
  apiUrl = api.url;
});
afterAll(() => api?.close());

describe("byom against an AWS API URL", () => {
  it("signs requests with SigV4 for execute-api, and the signature verifies over what arrived", async () => {
    const created = await runCli(
      ["projects", "create", "aws", "--api-url", apiUrl, "--region", "eu-west-1", "--json"],
      { env: awsEnv },
    );
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(["projects", "list", "--limit", "5"], {
      env: { ...awsEnv, BYOM_API_URL: apiUrl, AWS_REGION: "eu-west-1" },
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("prj-00000000000000000000000000");

    expect(api.received.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /prod/v1/projects",
      "GET /prod/v1/projects?limit=5",
    ]);
    for (const request of api.received) await expectSignedOverWhatArrived(request, api.url);
  }, 300_000);

  it("asks for a region when neither flag, environment nor host name gives one", async () => {
    const result = await runCli(["projects", "list", "--api-url", apiUrl], {
      env: { ...awsEnv, AWS_REGION: "", AWS_DEFAULT_REGION: "" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--region");
  }, 300_000);
});
