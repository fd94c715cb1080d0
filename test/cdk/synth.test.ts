import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "#cdk/routes.ts";
import { run } from "#local/processes.ts";
import type { PythonEnv } from "#local/python-env.ts";
import { cfnLintErrors, cfnLintVenv } from "../support/cfn-lint.ts";
import { REPO_ROOT } from "../support/platform.ts";

/**
 * `npm run synth` exactly as a user runs it (the CDK CLI, cdk.json, esbuild bundling, cdk-nag inside
 * synth), offline and without AWS credentials; then cfn-lint on the template it wrote, and the
 * bundled handlers loaded and called.
 */
const outdir = mkdtempSync(join(tmpdir(), "byom-synth-"));
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
let cfnLint: Promise<PythonEnv>;

beforeAll(async () => {
  cfnLint = cfnLintVenv();
  cfnLint.catch(() => {});
  const credentialFree: Record<string, string> = {
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: "",
    AWS_SECRET_ACCESS_KEY: "",
    AWS_PROFILE: "",
    AWS_CONFIG_FILE: join(outdir, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, "no-aws-credentials"),
  };
  await run("npm", ["run", "--silent", "synth", "--", "--output", outdir], {
    cwd: REPO_ROOT,
    env: credentialFree,
  });
  template = JSON.parse(readFileSync(join(outdir, "Byom.template.json"), "utf8"));
}, 600_000);

/** The bundle folder of the function a route's handler was built into. */
function bundleOf(description: string): string {
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === "AWS::Lambda::Function" && r.Properties.Description === description,
  );
  if (!fn) throw new Error(`no function described "${description}"`);
  const key = String(fn.Properties.Code.S3Key);
  return join(outdir, `asset.${key.replace(/\.zip$/, "")}`);
}

function invoke(
  handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>,
  path: string,
) {
  const event = {
    httpMethod: "GET",
    path,
    resource: path,
    headers: {},
    queryStringParameters: null,
    pathParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { identity: {} },
  } as unknown as APIGatewayProxyEvent;
  return handler(event, { awsRequestId: "synth-test" } as Context);
}

describe("npm run synth", () => {
  it("reports no cfn-lint errors on the synthesized template", async () => {
    await cfnLint;
    expect(await cfnLintErrors(join(outdir, "Byom.template.json"))).toEqual([]);
  }, 900_000);

  it("bundles every handler into one minified ESM file with source maps", () => {
    for (const route of ROUTES) {
      const bundle = bundleOf(`Byom ${route.method} ${route.path}`);
      const files = readdirSync(bundle).sort();
      expect(files, route.operationId).toEqual(["index.mjs", "index.mjs.map"]);
      const code = readFileSync(join(bundle, "index.mjs"), "utf8");
      expect(code, route.operationId).not.toMatch(/from\s*["']#lambdas\//);
      expect(statSync(join(bundle, "index.mjs")).size, route.operationId).toBeLessThan(300 * 1024);
    }
  });

  it("produces bundles that load and answer on Node.js 22 (subpath imports and .ts paths resolved)", async () => {
    const health = await import(pathToFileURL(join(bundleOf("Byom GET /v1/health"), "index.mjs")).href);
    const healthResponse = await invoke(health.handler, "/v1/health");
    expect(healthResponse.statusCode).toBe(200);
    expect(JSON.parse(healthResponse.body)).toMatchObject({ status: "ok" });

    // The OpenAPI handler's module graph reaches modules that read TABLE_NAME/BUCKET_NAME at load.
    process.env.TABLE_NAME ??= "byom-bundle-test";
    process.env.BUCKET_NAME ??= "byom-bundle-test";
    const openapi = await import(
      pathToFileURL(join(bundleOf("Byom GET /v1/openapi.json"), "index.mjs")).href
    );
    const document = await invoke(openapi.handler, "/v1/openapi.json");
    expect(document.statusCode).toBe(200);
    expect(Object.keys(JSON.parse(document.body).paths).length).toBeGreaterThan(5);
  });
});
