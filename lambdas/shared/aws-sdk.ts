import { createRequire } from "node:module";
import type * as DynamoDbSdk from "@aws-sdk/client-dynamodb";
import type * as DocumentSdk from "@aws-sdk/lib-dynamodb";

/**
 * Loads an AWS SDK package with require(). The SDK ships as CommonJS: imported from an ES module
 * (each Lambda bundle is one), Node lexes each of its files for named exports and resolves them
 * through the ES module loader, which made a cold start's SDK load cost about 40 % more CPU than
 * require() (docs/benchmarks.md). esbuild does not follow a require made through createRequire,
 * so the SDK stays external, as the Lambda runtime provides it (require() also finds it on the
 * runtime's NODE_PATH). Use it for the clients a handler loads at cold start; write the package
 * name in a type import beside it (`as typeof import("…")`), which cdk/module-graph.ts reads to
 * grant the function that service. Clients loaded on first use (S3) stay dynamic import()s.
 */
export const requireSdk = createRequire(import.meta.url);

/** The DynamoDB SDK's values; code imports them from here, their types from the packages. */
export const { DynamoDBClient, ConditionalCheckFailedException } = requireSdk(
  "@aws-sdk/client-dynamodb",
) as typeof DynamoDbSdk;

export const {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} = requireSdk("@aws-sdk/lib-dynamodb") as typeof DocumentSdk;
