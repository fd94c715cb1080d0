import { DynamoDBClient, DynamoDBDocumentClient } from "./aws-sdk.ts";

/**
 * The DynamoDB document client, created once per process. The endpoint comes from the SDK's standard
 * AWS_ENDPOINT_URL_DYNAMODB variable, which local mode sets to its emulator. (One module per client:
 * a handler bundles and loads only the SDK clients it uses.)
 */
export const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined }),
  { marshallOptions: { removeUndefinedValues: true } },
);
