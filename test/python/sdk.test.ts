import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "#local/processes.ts";
import { deployModels } from "../support/deployments.ts";
import { startTestPlatform, type TestPlatform } from "../support/platform.ts";
import { buildSdkWheel, cleanVenvWithWheel, SDK_DIR } from "../support/python-sdk.ts";

const MiB = 1024 * 1024;

let platform: TestPlatform;
let work: string;
let python: string;
let modelsJson: string;
beforeAll(async () => {
  const models = await deployModels();
  modelsJson = JSON.stringify(models);
  // Small multipart thresholds so a few MiB make a multipart upload of several parts.
  platform = await startTestPlatform({
    BYOM_MULTIPART_THRESHOLD_BYTES: String(2 * MiB),
    BYOM_MULTIPART_PART_SIZE_BYTES: String(MiB),
  });
  work = mkdtempSync(join(tmpdir(), "byom-sdk-"));
  const wheel = await buildSdkWheel(join(work, "dist"));
  const venv = await cleanVenvWithWheel(
    join(work, "venv"),
    wheel,
    "pandas",
    join(SDK_DIR, "tests/requirements.txt"),
    ["pytest"],
  );
  python = venv.python;
}, 900_000);
afterAll(async () => {
  await platform?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("Python SDK", () => {
  it("has request and response types generated from the OpenAPI document the API serves", async () => {
    const served = await fetch(`${platform.config.apiUrl}/v1/openapi.json`);
    expect(served.status).toBe(200);
    const file = join(work, "openapi.json");
    writeFileSync(file, await served.text());
    // Exits 1 with a diff and the command to regenerate when byom/_api.py is stale.
    await run("python3", [join(SDK_DIR, "scripts/generate_api.py"), file, "--check"]);
  });

  it("passes its pytest suite against the local platform, installed from its wheel", async () => {
    const output = await run(
      python,
      ["-m", "pytest", "-q", "-p", "no:cacheprovider", join(SDK_DIR, "tests")],
      { cwd: work, env: { BYOM_HOME: platform.home, BYOM_TEST_MODELS: modelsJson, BYOM_PASSPHRASE: "" } },
    ).catch((error: Error) => {
      throw new Error(`pytest failed:\n${error.message}`);
    });
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/failed|error|skipped/i);
  }, 1_200_000);

  it("signs with SigV4 (botocore) on AWS, and the signature verifies over what arrived", async () => {
    const credentials = {
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    };
    const received: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[] = [];
    // Stands in for API Gateway: records what arrives and answers like the projects API.
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        const project = {
          projectId: "prj-00000000000000000000000000",
          name: "aws",
          description: "",
          owner: "arn:aws:iam::123456789012:user/ana",
          createdAt: "2026-01-01T00:00:00.000Z",
          role: "owner",
        };
        res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
        res.end(JSON.stringify(req.method === "POST" ? project : { items: [project], nextCursor: null }));
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
    try {
      const script =
        "import byom; c = byom.Client(); c.projects.create('aws'); print([p.id for p in c.projects.list()])";
      const output = await run(python, ["-c", script], {
        cwd: work,
        env: {
          BYOM_API_URL: apiUrl,
          AWS_REGION: "eu-west-1",
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: "",
          AWS_PROFILE: "",
          AWS_CONFIG_FILE: "/nonexistent/aws-config",
          AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
          AWS_EC2_METADATA_DISABLED: "true",
          BYOM_HOME: "/nonexistent/byom-home",
          BYOM_TOKEN: "",
        },
      });
      expect(output).toContain("prj-00000000000000000000000000");
      expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
        "POST /prod/v1/projects",
        "GET /prod/v1/projects?limit=100",
      ]);
      for (const request of received) {
        const authorization = request.headers.authorization as string;
        expect(authorization).toMatch(
          /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
        );
        // Re-sign what the server received with another implementation (smithy), at the
        // request's own time: the signatures must match.
        const url = new URL(request.url, apiUrl);
        const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(";") ?? [];
        const headers = Object.fromEntries(
          signedHeaders.map((name) => [name, String(request.headers[name])]),
        );
        const amzDate = request.headers["x-amz-date"] as string;
        const signingDate = new Date(
          `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
        );
        // botocore sends no x-amz-content-sha256 header for execute-api (the payload hash is still
        // part of what is signed).
        const signer = new SignatureV4({
          service: "execute-api",
          region: "eu-west-1",
          credentials,
          sha256: Sha256,
          applyChecksum: false,
        });
        const expected = await signer.sign(
          {
            method: request.method,
            protocol: "http:",
            hostname: url.hostname,
            port: Number(url.port),
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers,
            body: request.body === "" ? undefined : request.body,
          },
          { signingDate },
        );
        expect(authorization).toBe(expected.headers.authorization);
      }
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  }, 120_000);
});
