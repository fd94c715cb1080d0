import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import type { DeleteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { dynamo } from "./dynamo-client.ts";

/** True when a DynamoDB write failed only because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error | undefined)?.name === "ConditionalCheckFailedException"
  );
}

/**
 * Sends a conditional write: true when it was applied, false when only its condition failed
 * (another writer got there first, or the state moved on); any other error is thrown.
 */
export async function writeIfCondition(
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<boolean> {
  try {
    // The document client's send() is overloaded per command class; each of these is one of them.
    await dynamo.send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
