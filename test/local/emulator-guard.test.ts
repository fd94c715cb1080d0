import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, LOCAL_REGION, startDynamo, startS3 } from "#local/emulators.ts";
import { processorCommand } from "#local/python-env.ts";
import { s3ClientFor, startTestPlatform, type TestPlatform } from "../support/platform.ts";

// The emulators as local mode starts them, attacked over real HTTP the way a web page (or a
// process without the start's credentials) would.
let dir: string;
let dynamo: Emulator;
let s3: Emulator;
const BUCKET = "guard-test";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "byom-guard-"));
  dynamo = await startDynamo(join(dir, "dynamodb"), 0);
  s3 = await startS3(join(dir, "s3"), 0, BUCKET, () => undefined);
});
afterAll(async () => {
  await s3?.close();
  await dynamo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const dynamoClient = (credentials = dynamo.credentials, headers: Record<string, string> = {}) => {
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials });
  client.middlewareStack.add(
    (next) => (args) => {
      Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
      return next(args);
    },
    { step: "build" },
  );
  return client;
};

const s3Client = (credentials = s3.credentials) =>
  new S3Client({ endpoint: s3.endpoint, region: LOCAL_REGION, forcePathStyle: true, credentials });

/** A raw request, so that Host and every other header are exactly what the test says. */
function raw(
  endpoint: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "GET",
        path: options.path ?? "/",
        headers: options.headers,
      },
      (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("local mode's emulators refuse what is not a local process holding this start's credentials", () => {
  it("serve requests signed with the start's credentials, also with Node fetch's Sec-Fetch-Mode", async () => {
    const tables = await dynamoClient(dynamo.credentials, { "sec-fetch-mode": "cors" }).send(
      new ListTablesCommand({}),
    );
    expect(tables.TableNames).toEqual([]);
    await s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: "a b/c+d.txt", Body: "hello" }));
    const got = await s3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: "a b/c+d.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello");
  });

  it("refuse requests from a web page: an Origin header, or Sec-Fetch-Site cross-site or same-site", async () => {
    for (const headers of [
      { origin: "http://evil.example" } as Record<string, string>,
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ]) {
      await expect(dynamoClient(dynamo.credentials, headers).send(new ListTablesCommand({}))).rejects.toThrow(
        /web page/,
      );
    }
    // dynalite itself answers a CORS preflight with Access-Control-Allow-Origin: *; the guard does not.
    const preflight = await raw(dynamo.endpoint, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const presigned = await getSignedUrl(
      s3Client(),
      new GetObjectCommand({ Bucket: BUCKET, Key: "a b/c+d.txt" }),
      { expiresIn: 60 },
    );
    expect((await fetch(presigned)).status).toBe(200);
    expect((await fetch(presigned, { headers: { origin: "http://evil.example" } })).status).toBe(403);
  });

  it("refuse a Host other than 127.0.0.1:<port> (DNS rebinding)", async () => {
    const port = new URL(s3.endpoint).port;
    for (const host of [`localhost:${port}`, `evil.example:${port}`, "127.0.0.1:1"]) {
      const answer = await raw(s3.endpoint, { path: `/${BUCKET}/a%20b/c%2Bd.txt`, headers: { host } });
      expect(answer.status, host).toBe(403);
      expect(answer.body).toContain("Host");
    }
  });

  it("refuse unsigned requests, other credentials, tampered bodies and expired or altered presigned URLs", async () => {
    const anonymous = await raw(s3.endpoint, {
      path: `/${BUCKET}/a%20b/c%2Bd.txt`,
      headers: { host: new URL(s3.endpoint).host },
    });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain("not signed");
    const unsignedDynamo = await fetch(dynamo.endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": "DynamoDB_20120810.ListTables",
        "content-type": "application/x-amz-json-1.0",
      },
      body: "{}",
    });
    expect(unsignedDynamo.status).toBe(403);

    // The emulators' published default keys (s3rver's S3RVER) and any other pair are refused.
    for (const credentials of [
      { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: "guessed" },
    ]) {
      await expect(
        s3Client(credentials).send(new GetObjectCommand({ Bucket: BUCKET, Key: "a b/c+d.txt" })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      await expect(dynamoClient(credentials).send(new ListTablesCommand({}))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 403 },
      });
    }

    // A signed DynamoDB request whose body is swapped on the way: the signature covers the body.
    const tamper = dynamoClient();
    tamper.middlewareStack.add(
      (next) => (args) => {
        // After signing, same length: only the signature can tell.
        (args.request as { body: string }).body = "[]";
        return next(args);
      },
      { step: "deserialize" },
    );
    await expect(tamper.send(new ListTablesCommand({}))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });

    const presigned = new URL(
      await getSignedUrl(s3Client(), new PutObjectCommand({ Bucket: BUCKET, Key: "granted.txt" }), {
        expiresIn: 60,
      }),
    );
    const otherKey = new URL(presigned);
    otherKey.pathname = `/${BUCKET}/not-granted.txt`;
    expect((await fetch(otherKey, { method: "PUT", body: "x" })).status).toBe(403);
    expect((await fetch(presigned, { method: "PUT", body: "x" })).status).toBe(200);
    const expired = new URL(
      await getSignedUrl(s3Client(), new GetObjectCommand({ Bucket: BUCKET, Key: "granted.txt" }), {
        expiresIn: 1,
        signingDate: new Date(Date.now() - 120_000),
      }),
    );
    const answer = await fetch(expired);
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain("expired");
  });
});

describe("local mode's data folder, credentials and child processes", () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform();
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it("keeps .byom 0700 and local.json 0600, with this start's emulator credentials in it", async () => {
    expect(statSync(platform.home).mode & 0o777).toBe(0o700);
    expect(statSync(join(platform.home, "local.json")).mode & 0o777).toBe(0o600);
    const { config } = platform;
    expect(config.awsAccessKeyId).toMatch(/^BYOM[0-9A-F]{16}$/);
    const client = await s3ClientFor(config);
    await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: "scratch/x.txt", Body: "x" }));
    client.destroy();
  });

  it("gives processors and runtimes their contract environment, not the platform's", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_SECRET_ACCESS_KEY: "platform-secret",
      TABLE_NAME: "byom",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1",
      BYOM_HOME: "/somewhere",
      BYOM_MAX_UNZIPPED_BYTES: "1000",
    });
    try {
      const command = await processorCommand("python-mlflow-processor", {
        sourcePath: "/tmp/in.zip",
        targetPath: "/tmp/out",
        env: { BYOM_MODEL_ID: "m" },
      });
      expect(command.env).toMatchObject({
        SOURCE_PATH: "/tmp/in.zip",
        TARGET_PATH: "/tmp/out",
        BYOM_MODEL_ID: "m",
        BYOM_MAX_UNZIPPED_BYTES: "1000",
        PATH: process.env.PATH,
      });
      for (const name of [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "TABLE_NAME",
        "AWS_ENDPOINT_URL_S3",
        "BYOM_HOME",
      ]) {
        expect(command.env, name).not.toHaveProperty(name);
      }
    } finally {
      process.env = saved;
    }
  }, 600_000);
});
