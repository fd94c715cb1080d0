import { GetCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putIfAbsent, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";

/**
 * One item per drop-folder object version (keys.dropMarker): whoever creates it owns turning that
 * version into an experiment, so duplicate events create nothing. It remembers the ids it chose, so
 * a retry after a crash resumes instead of creating a second experiment.
 */
export interface DropMarker {
  readonly state: "CLAIMED" | "DONE";
  /** The SQS message that owns the work; its retries may resume it. */
  readonly owner: string;
  readonly claimedAt: string;
  readonly projectId: string;
  readonly experimentId?: string;
  readonly artifactId?: string;
}

/** Creates the marker; false when it exists already. */
export async function putNewDropMarker(key: string, version: string, marker: DropMarker): Promise<boolean> {
  return putIfAbsent({ ...keys.dropMarker(key, version), type: "dropMarker", ...marker });
}

export async function getDropMarker(key: string, version: string): Promise<DropMarker | undefined> {
  const out = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.dropMarker(key, version), ConsistentRead: true }),
  );
  if (!out.Item) return undefined;
  const { state, owner, claimedAt, projectId, experimentId, artifactId } = out.Item;
  return { state, owner, claimedAt, projectId, experimentId, artifactId } as DropMarker;
}

/** Moves ownership of an unfinished marker to `owner` (a retry, or a takeover of a stale claim). */
export async function takeOverDropMarker(
  key: string,
  version: string,
  previous: DropMarker,
  owner: string,
  now: string,
): Promise<boolean> {
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.dropMarker(key, version),
      UpdateExpression: "SET #o = :owner, claimedAt = :now",
      ConditionExpression: "#st = :claimed AND #o = :previous AND claimedAt = :at",
      ExpressionAttributeNames: { "#o": "owner", "#st": "state" },
      ExpressionAttributeValues: {
        ":owner": owner,
        ":now": now,
        ":claimed": "CLAIMED",
        ":previous": previous.owner,
        ":at": previous.claimedAt,
      },
    }),
  );
}

/** Records the experiment and artifact ids the owner created or chose. */
export async function recordDropIds(
  key: string,
  version: string,
  owner: string,
  ids: { experimentId: string; artifactId: string },
): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.dropMarker(key, version),
      UpdateExpression: "SET experimentId = :e, artifactId = :a",
      ConditionExpression: "#o = :owner",
      ExpressionAttributeNames: { "#o": "owner" },
      ExpressionAttributeValues: { ":e": ids.experimentId, ":a": ids.artifactId, ":owner": owner },
    }),
  );
}

export async function markDropDone(key: string, version: string, owner: string): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.dropMarker(key, version),
      UpdateExpression: "SET #st = :done",
      ConditionExpression: "#o = :owner",
      ExpressionAttributeNames: { "#o": "owner", "#st": "state" },
      ExpressionAttributeValues: { ":done": "DONE", ":owner": owner },
    }),
  );
}
