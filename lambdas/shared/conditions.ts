import type {
  DeleteCommand,
  DeleteCommandOutput,
  PutCommand,
  PutCommandOutput,
  UpdateCommand,
  UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { ConditionalCheckFailedException, PutCommand as PutItem } from "./aws-sdk.ts";
import { dynamo } from "./dynamo-client.ts";
import { TABLE_NAME } from "./table.ts";

/** True when a DynamoDB write failed only because its condition did not hold. */
function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error | undefined)?.name === "ConditionalCheckFailedException"
  );
}

/**
 * Sends a conditional write: its output when it was applied, undefined when only its condition
 * failed (another writer got there first, or the state moved on); any other error is thrown.
 * Every repository's conditional write goes through here.
 */
export async function sendIfCondition(command: UpdateCommand): Promise<UpdateCommandOutput | undefined>;
export async function sendIfCondition(command: PutCommand): Promise<PutCommandOutput | undefined>;
export async function sendIfCondition(command: DeleteCommand): Promise<DeleteCommandOutput | undefined>;
export async function sendIfCondition(
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<PutCommandOutput | UpdateCommandOutput | DeleteCommandOutput | undefined> {
  try {
    // The document client's send() is overloaded per command class; each of these is one of them.
    return await dynamo.send(command as PutCommand);
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/** A conditional write whose output does not matter: true when it was applied. */
export async function writeIfCondition(
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<boolean> {
  return (await sendIfCondition(command as PutCommand)) !== undefined;
}

/** A put of a new item that fails its condition when an item with the same key exists. */
const newItemPut = (item: Record<string, unknown>) =>
  new PutItem({ TableName: TABLE_NAME, Item: item, ConditionExpression: "attribute_not_exists(pk)" });

/** Writes a new item unless one with its key exists: true when written. */
export async function putIfAbsent(item: Record<string, unknown>): Promise<boolean> {
  return writeIfCondition(newItemPut(item));
}

/**
 * Writes a new item whose id was just issued; an item already there (an id collision, which ids
 * make practically impossible) fails the write rather than being overwritten.
 */
export async function putNewItem(item: Record<string, unknown>): Promise<void> {
  await dynamo.send(newItemPut(item));
}
