import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";

/** True when a DynamoDB write failed only because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error | undefined)?.name === "ConditionalCheckFailedException"
  );
}
