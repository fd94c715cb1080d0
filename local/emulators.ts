import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import S3rver from "s3rver";
import { TABLE_DEFINITION } from "#lambdas/shared/table-definition.ts";

/** Credentials the emulators accept (s3rver checks for exactly these). */
export const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
export const LOCAL_REGION = "us-east-1";

export interface Emulator {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** dynalite on loopback, persisted under `dir` (LevelDB). */
export async function startDynamo(dir: string, port: number): Promise<Emulator> {
  mkdirSync(dir, { recursive: true });
  const server: Server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(server, port, "DynamoDB emulator");
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface S3rverRecord {
  readonly eventName: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly sequencer: string;
    };
  };
}

export interface S3ObjectEvent {
  readonly eventName: string;
  readonly bucket: string;
  /** The key as stored (not URL-encoded). */
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
  readonly sequencer: string;
}

/**
 * s3rver on loopback, persisted under `dir`. It emits events for every bucket and with raw keys; the
 * caller gets plain object events and does the filtering.
 */
export async function startS3(
  dir: string,
  port: number,
  bucket: string,
  onObjectEvent: (event: S3ObjectEvent) => void,
): Promise<Emulator> {
  mkdirSync(dir, { recursive: true });
  const s3rver = new S3rver({
    address: "127.0.0.1",
    port,
    directory: dir,
    silent: true,
    allowMismatchedSignatures: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  s3rver.on("event", (raw: { Records: S3rverRecord[] }) => {
    for (const record of raw.Records) {
      const object = record.s3.object;
      onObjectEvent({
        // s3rver reports a completed multipart upload as a Post; S3 names it for what it is.
        eventName:
          record.eventName === "ObjectCreated:Post"
            ? "ObjectCreated:CompleteMultipartUpload"
            : record.eventName,
        bucket: record.s3.bucket.name,
        key: object.key,
        size: object.size ?? 0,
        eTag: object.eTag ?? "",
        sequencer: object.sequencer,
      });
    }
  });
  const address = (await s3rver.run()) as AddressInfo;
  // Completing a multi-GB multipart upload assembles the object inside one request; Node's default
  // 300 s request timeout would cut it off on a busy machine (S3 itself has no such limit).
  if (s3rver.httpServer) s3rver.httpServer.requestTimeout = 0;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => s3rver.close(),
  };
}

/** Creates the table from its one declaration unless it already exists (data survives restarts). */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    await waitUntilActive(client, tableName);
    client.destroy();
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const index = TABLE_DEFINITION.indexes[0];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: TABLE_DEFINITION.partitionKey, AttributeType: "S" },
        { AttributeName: TABLE_DEFINITION.sortKey, AttributeType: "S" },
        { AttributeName: index.partitionKey, AttributeType: "S" },
        { AttributeName: index.sortKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: TABLE_DEFINITION.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE_DEFINITION.sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: "HASH" },
            { AttributeName: index.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  await waitUntilActive(client, tableName);
  client.destroy();
}

/**
 * dynalite answers "Requested resource not found" to writes until the table and its index are
 * ACTIVE, which on a busy machine can be after CreateTable returns.
 */
async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
    if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
    if (Date.now() > deadline)
      throw new Error(`DynamoDB emulator: table ${tableName} did not become ACTIVE in 30 s.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function dataDirs(home: string) {
  return { dynamo: join(home, "dynamodb"), s3: join(home, "s3"), deadLetters: join(home, "dead-letters") };
}

function listen(server: Server, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `${what}: port ${port} on 127.0.0.1 is in use. Stop what holds it or choose another port.`,
            )
          : error,
      );
    });
    server.listen(port, "127.0.0.1", () => resolve());
  });
}
