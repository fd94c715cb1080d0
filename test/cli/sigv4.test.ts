import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

let server: Server;
let apiUrl: string;
const received: Received[] = [];
beforeAll(async () => {
  // Stands in for API Gateway: records what arrives and answers like the projects API.
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
      const project = {
        projectId: "prj-00000000000000000000000000",
        name: "aws",
        description: "",
        owner: "arn:aws:iam::123456789012:user/ana",
        createdAt: "2026-01-01T00:00:00.000Z",
        role: "owner",
      };
      res.end(JSON.stringify(req.method === "POST" ? project : { items: [project], nextCursor: null }));
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

/** Only the static credentials below: no profile, SSO or instance metadata from this machine. */
const awsEnv = {
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
  BYOM_HOME: "/nonexistent/byom-home",
};

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

    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /prod/v1/projects",
      "GET /prod/v1/projects?limit=5",
    ]);
    for (const request of received) {
      const authorization = request.headers.authorization as string;
      expect(authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
      );
      // Re-sign what the server received, at the request's own time: the signatures must match.
      const url = new URL(request.url, apiUrl);
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(";") ?? [];
      const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
      const amzDate = request.headers["x-amz-date"] as string;
      const signingDate = new Date(
        `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
      );
      const signer = new SignatureV4({
        service: "execute-api",
        region: "eu-west-1",
        credentials: CREDENTIALS,
        sha256: Sha256,
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
  }, 300_000);

  it("asks for a region when neither flag, environment nor host name gives one", async () => {
    const result = await runCli(["projects", "list", "--api-url", apiUrl], {
      env: { ...awsEnv, AWS_REGION: "", AWS_DEFAULT_REGION: "" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--region");
  }, 300_000);
});
