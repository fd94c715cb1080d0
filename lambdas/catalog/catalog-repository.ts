import { DeleteCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putIfAbsent, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";
import type { CatalogEntry, CatalogKind } from "./entries.ts";

export interface CatalogRecord<E extends CatalogEntry = CatalogEntry> {
  readonly kind: CatalogKind;
  readonly entry: E;
  readonly builtIn: boolean;
  /** Built-ins keep their declaration order (the deployer's preference order); user entries follow. */
  readonly order: number;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** Orders user entries after every built-in. */
export const USER_ENTRY_ORDER = 1_000_000;

/**
 * Writes a built-in entry, replacing its previous definition but keeping its first createdAt, so
 * seeding is idempotent and a changed built-in takes effect on the next seed.
 */
export async function putBuiltinEntry(record: CatalogRecord, seededAt: string): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.catalogEntry(record.kind, record.entry.name),
      UpdateExpression:
        "SET #type = :type, #kind = :kind, entryJson = :entry, builtIn = :true, #order = :order, createdBy = :by, createdAt = if_not_exists(createdAt, :at)",
      ExpressionAttributeNames: { "#type": "type", "#kind": "kind", "#order": "order" },
      ExpressionAttributeValues: {
        ":type": "catalogEntry",
        ":kind": record.kind,
        ":entry": JSON.stringify(record.entry),
        ":true": true,
        ":order": record.order,
        ":by": record.createdBy,
        ":at": seededAt,
      },
    }),
  );
}

/** Adds a user entry if the name is free in its kind; returns the holder of the name otherwise. */
export async function putNewEntry(record: CatalogRecord): Promise<{ existing?: CatalogRecord }> {
  const added = await putIfAbsent({
    ...keys.catalogEntry(record.kind, record.entry.name),
    type: "catalogEntry",
    ...toItem(record),
  });
  if (added) return {};
  const existing = await getEntry(record.kind, record.entry.name);
  return { existing: existing ?? record };
}

/** Deletes a user entry; false when there is none (built-ins are never deleted). */
export async function deleteUserEntry(kind: CatalogKind, name: string): Promise<boolean> {
  return writeIfCondition(
    new DeleteCommand({
      TableName: TABLE_NAME,
      Key: keys.catalogEntry(kind, name),
      ConditionExpression: "attribute_exists(pk) AND builtIn = :false",
      ExpressionAttributeValues: { ":false": false },
    }),
  );
}

export async function getEntry(kind: CatalogKind, name: string): Promise<CatalogRecord | undefined> {
  return getRecord(keys.catalogEntry(kind, name), toRecord);
}

/** One page of a kind's entries, by name: a Query on the kind's partition. */
export async function listEntries(kind: CatalogKind, page: PageRequest): Promise<Page<CatalogRecord>> {
  return queryPartitionPage(keys.catalogPrefix(kind), page, toRecord);
}

/**
 * Every entry of a kind, in preference order (built-ins as declared, then user entries oldest
 * first). The catalog is small, so composing paths reads whole kinds: Queries, never a Scan.
 */
export async function listAllEntries(kind: CatalogKind): Promise<CatalogRecord[]> {
  const records: CatalogRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEntries(kind, { limit: 100, cursor });
    records.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return records.sort((a, b) => a.order - b.order || a.createdAt.localeCompare(b.createdAt));
}

/**
 * The entry is stored as JSON text: a runtime's `env` has user-chosen keys, and a key such as
 * "constructor" would confuse the SDK's marshaller if it were a DynamoDB map.
 */
function toItem(record: CatalogRecord): Record<string, unknown> {
  const { entry, ...rest } = record;
  return { ...rest, entryJson: JSON.stringify(entry) };
}

function toRecord(item: Record<string, unknown>): CatalogRecord {
  return {
    kind: item.kind as CatalogKind,
    entry: JSON.parse(item.entryJson as string) as CatalogEntry,
    builtIn: item.builtIn === true,
    order: (item.order as number | undefined) ?? USER_ENTRY_ORDER,
    createdAt: item.createdAt as string,
    createdBy: item.createdBy as string,
  };
}

/**
 * Replaces a user entry's stored definition (the image import records its outcome), if the entry
 * still exists and is not a built-in; false otherwise.
 */
export async function replaceUserEntry(kind: CatalogKind, entry: CatalogEntry): Promise<boolean> {
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.catalogEntry(kind, entry.name),
      UpdateExpression: "SET entryJson = :entry",
      ConditionExpression: "attribute_exists(pk) AND builtIn = :false",
      ExpressionAttributeValues: { ":entry": JSON.stringify(entry), ":false": false },
    }),
  );
}
