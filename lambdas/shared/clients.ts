import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * SDK clients, created once per process. Endpoints come from the SDK's standard
 * AWS_ENDPOINT_URL_<SERVICE> variables, which local mode sets to its emulators.
 */
export const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined }),
  { marshallOptions: { removeUndefinedValues: true } },
);

export const s3 = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL_S3 || undefined,
  forcePathStyle: process.env.BYOM_S3_FORCE_PATH_STYLE === "true",
  // Checksums only when an operation requires them: presigned URLs must not demand headers the
  // uploader does not send.
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
