import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { LAMBDA_BUNDLING } from "#cdk/lambda-bundling.ts";
import { usesS3 } from "#cdk/module-graph.ts";
import { ROUTES } from "#lambdas/routes.ts";
import { REPO_ROOT } from "../support/platform.ts";

/**
 * Cold start (docs/benchmarks.md): the S3 SDK and the presigner cost tens of milliseconds to load,
 * so the handlers that use S3 load them on first use only. Checked on the real bundles: in each,
 * those packages are reached by dynamic import() and never by a static import.
 */
const S3_PACKAGES = ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"];

/** The handler's real bundle (the CDK app's options), in memory, with its metafile. */
const bundle = (handler: string) =>
  build({
    ...LAMBDA_BUNDLING,
    entryPoints: [join(REPO_ROOT, handler)],
    absWorkingDir: REPO_ROOT,
    write: false,
    outdir: join(REPO_ROOT, ".byom", "lazy-s3-check"),
    metafile: true,
  });

describe("S3-using handlers load the S3 SDK lazily", () => {
  const handlers = [...new Set(ROUTES.map((r) => r.handler)), "lambdas/ingest/handlers/ingest.ts"].filter(
    usesS3,
  );

  it("covers the handlers that talk to S3", () => {
    expect(handlers).toEqual(
      expect.arrayContaining([
        "lambdas/artifacts/handlers/create-artifact.ts",
        "lambdas/artifacts/handlers/download-artifact.ts",
        "lambdas/artifacts/handlers/renew-artifact-upload.ts",
      ]),
    );
  });

  it("leaves it out of the handlers that only start jobs (the job worker talks to S3)", () => {
    for (const handler of [
      "lambdas/projects/handlers/delete-project.ts",
      "lambdas/experiments/handlers/delete-experiment.ts",
      "lambdas/artifacts/handlers/complete-artifact.ts",
      "lambdas/imports/handlers/import-mlflow.ts",
    ]) {
      expect(usesS3(handler), handler).toBe(false);
    }
    expect(usesS3("lambdas/jobs/handlers/run-jobs.ts")).toBe(true);
  });

  it.each(handlers)("%s imports the S3 SDK only dynamically", async (handler) => {
    const result = await bundle(handler);
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
    // Some reach S3 only through job code they merely start (then not at all): fine, even lazier.
    const s3Imports = imports.filter((i) => S3_PACKAGES.includes(i.path));
    if (handler.endsWith("create-artifact.ts")) expect(s3Imports.length).toBeGreaterThan(0);
    for (const i of s3Imports) expect(i.kind, `${i.path} in ${handler}`).toBe("dynamic-import");
  });
});

/**
 * The SDK packages a handler loads at cold start it loads with require() (lambdas/shared/aws-sdk.ts):
 * a static import of the CommonJS SDK from an ES module bundle costs 40-50 ms more CPU
 * (docs/benchmarks.md). esbuild hoists static imports of external packages to the bundle's top even
 * from modules loaded on first use, so none may be left.
 */
describe("handlers load the AWS SDK at cold start with require()", () => {
  const handlers = [...new Set(ROUTES.map((r) => r.handler)), "lambdas/ingest/handlers/ingest.ts"];

  it.each(handlers)("%s has no static import of an @aws-sdk package", async (handler) => {
    const result = await bundle(handler);
    const bundled = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
    const staticSdk = bundled
      .filter((i) => i.kind === "import-statement" && i.path.startsWith("@aws-sdk/"))
      .map((i) => i.path);
    expect([...new Set(staticSdk)].sort(), handler).toEqual([]);
    // Each of them talks to DynamoDB, through the required SDK (a bundle holding the require call).
    if (handler !== "lambdas/meta/handlers/health.ts" && handler !== "lambdas/meta/handlers/openapi.ts") {
      expect(result.outputFiles.find((f) => f.path.endsWith(".js"))?.text, handler).toContain(
        '("@aws-sdk/lib-dynamodb")',
      );
    }
  });
});
