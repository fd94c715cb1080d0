import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "vitest";

/** AWS's documented example key pair: signs, but is valid nowhere. */
export const EXAMPLE_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/** Only the example credentials: no profile, SSO or instance metadata from this machine. */
export const EXAMPLE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: EXAMPLE_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: EXAMPLE_CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
  BYOM_HOME: "/nonexistent/byom-home",
};

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface RecordingApi {
  /** The API's base URL, with a `/prod` stage as API Gateway gives it. */
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/** Stands in for API Gateway: records what arrives and answers like the projects API. */
export async function startRecordingProjectsApi(): Promise<RecordingApi> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
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
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`,
    received,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/**
 * Asserts that a received request carries an execute-api SigV4 signature by the example
 * credentials in eu-west-1, and re-signs what arrived with smithy's implementation, at the
 * request's own time: the signatures must match. `applyChecksum: false` for signers that send no
 * x-amz-content-sha256 header (botocore; the payload hash is still part of what is signed).
 */
export async function expectSignedOverWhatArrived(
  request: ReceivedRequest,
  apiUrl: string,
  options: { readonly applyChecksum?: boolean } = {},
): Promise<void> {
  const authorization = request.headers.authorization as string;
  expect(authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
  );
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
    credentials: EXAMPLE_CREDENTIALS,
    sha256: Sha256,
    ...(options.applyChecksum === false ? { applyChecksum: false } : {}),
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
