import { QueryCommand } from "./aws-sdk.ts";
import { dynamo } from "./dynamo-client.ts";
import {
  type CursorShape,
  decodeCursor,
  encodeCursor,
  type Page,
  type PageRequest,
  tableCursor,
} from "./pagination.ts";
import { GSI1, TABLE_NAME } from "./table.ts";

/**
 * One page of the items of a partition whose sort key starts with `skPrefix`, in sort-key order:
 * the access pattern behind every list of the API (one Query, cost set by the page size). The
 * cursor is checked to belong to this partition and prefix.
 */
export async function queryPartitionPage<T>(
  prefix: { readonly pk: string; readonly skPrefix: string },
  page: PageRequest,
  toRecord: (item: Record<string, unknown>) => T,
): Promise<Page<T>> {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": prefix.pk, ":prefix": prefix.skPrefix },
      Limit: page.limit,
      ExclusiveStartKey: decodeCursor(page.cursor, "pk", prefix.pk, tableCursor(prefix.skPrefix)),
      ConsistentRead: true,
    }),
  );
  return { items: (out.Items ?? []).map(toRecord), nextCursor: encodeCursor(out.LastEvaluatedKey) };
}

/**
 * One page of the items GSI1 files under `partition` (a principal's memberships, every
 * deployment), in index sort-key order. `shape`, when given, is what the cursor must look like.
 */
export async function queryIndexPage<T>(
  partition: string,
  page: PageRequest,
  toRecord: (item: Record<string, unknown>) => T,
  shape?: CursorShape,
): Promise<Page<T>> {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      IndexName: GSI1,
      KeyConditionExpression: "gsi1pk = :p",
      ExpressionAttributeValues: { ":p": partition },
      Limit: page.limit,
      ExclusiveStartKey: decodeCursor(page.cursor, "gsi1pk", partition, shape),
    }),
  );
  return { items: (out.Items ?? []).map(toRecord), nextCursor: encodeCursor(out.LastEvaluatedKey) };
}
