import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import S3rver from "s3rver";
import S3rverAccount from "s3rver/lib/models/account.js";
import { TABLE_DEFINITION } from "#lambdas/shared/table-definition.ts";
import {
  type EmulatorCredentials,
  type GuardOptions,
  guardEmulator,
  newEmulatorCredentials,
} from "./emulator-guard.ts";
import { waitFor } from "./processes.ts";

export const LOCAL_REGION = "us-east-1";

export interface Emulator {
  readonly endpoint: string;
  /** What requests must be signed with (made for this start unless given). */
  readonly credentials: EmulatorCredentials;
  close(): Promise<void>;
}

/**
 * A private folder (0700) for an emulator's Unix socket: only the guard in front of it, on
 * 127.0.0.1, is reachable over TCP (local/emulator-guard.ts). Under the OS temp folder, as a
 * socket path must stay short.
 */
export function privateSocket(name: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "byom-"));
  chmodSync(dir, 0o700);
  return { path: join(dir, `${name}.sock`), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** dynalite persisted under `dir` (LevelDB), behind the guard on 127.0.0.1:`port`. */
export async function startDynamo(
  dir: string,
  port: number,
  credentials: EmulatorCredentials = newEmulatorCredentials(),
): Promise<Emulator> {
  mkdirSync(dir, { recursive: true });
  const socket = privateSocket("dynamodb");
  const server: Server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket.path, () => resolve());
  });
  return behindGuard(
    { what: "DynamoDB emulator", port, upstreamSocket: socket.path, credentials, bodyInSignature: true },
    socket,
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
}

/** The emulator listening on `socket`, reached through its guard; closing stops both. */
async function behindGuard(
  options: GuardOptions,
  socket: { remove(): void },
  closeEmulator: () => Promise<void>,
): Promise<Emulator> {
  const guard = await guardEmulator(options);
  return {
    endpoint: guard.endpoint,
    credentials: options.credentials,
    close: async () => {
      await guard.close();
      await closeEmulator();
      socket.remove();
    },
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
 * s3rver persisted under `dir`, behind the guard on 127.0.0.1:`port` (s3rver checks no SigV4
 * signature: the guard does). It emits events for every bucket and with raw keys; the caller gets
 * plain object events and does the filtering.
 */
export async function startS3(
  dir: string,
  port: number,
  bucket: string,
  onObjectEvent: (event: S3ObjectEvent) => void,
  credentials: EmulatorCredentials = newEmulatorCredentials(),
): Promise<Emulator> {
  mkdirSync(dir, { recursive: true });
  const socket = privateSocket("s3");
  const s3rver = new S3rver({
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
  // s3rver looks the access key up in its account registry (and checks no v4 signature: the guard
  // did): it knows this start's key, and no longer its built-in S3RVER one.
  S3rverAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
  S3rverAccount.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  // What s3rver.run() does, on the socket instead of a TCP port.
  await s3rver.configureBuckets();
  const httpServer = await s3rver.listen(socket.path);
  s3rver.httpServer = httpServer;
  // Completing a multi-GB multipart upload assembles the object inside one request; Node's default
  // 300 s request timeout would cut it off on a busy machine (S3 itself has no such limit).
  httpServer.requestTimeout = 0;
  return behindGuard(
    { what: "S3 emulator", port, upstreamSocket: socket.path, credentials, bodyInSignature: false },
    socket,
    () => s3rver.close(),
  );
}

/** Creates the table from its one declaration unless it already exists (data survives restarts). */
export async function ensureTable(dynamo: Emulator, tableName: string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_REGION,
    credentials: dynamo.credentials,
  });
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
  await waitFor(
    `DynamoDB emulator: table ${tableName} to become ACTIVE`,
    async () => {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
      return Table?.TableStatus === "ACTIVE" && indexesActive ? true : undefined;
    },
    30_000,
    20,
  );
}

export function dataDirs(home: string) {
  return { dynamo: join(home, "dynamodb"), s3: join(home, "s3"), deadLetters: join(home, "dead-letters") };
}
