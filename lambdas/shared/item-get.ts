import { GetCommand } from "./aws-sdk.ts";
import { dynamo } from "./dynamo-client.ts";
import { TABLE_NAME } from "./table.ts";

/**
 * One item of the table by its key, read strongly consistent (a read right after a write sees it),
 * as the repository's record; undefined when there is none.
 */
export async function getRecord<T>(
  key: Record<string, string>,
  toRecord: (item: Record<string, unknown>) => T,
): Promise<T | undefined> {
  const out = await dynamo.send(new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }));
  return out.Item ? toRecord(out.Item) : undefined;
}
