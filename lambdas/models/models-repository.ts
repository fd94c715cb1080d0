import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putIfAbsent, putNewItem, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";

export interface ModelRecord {
  readonly modelId: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly createdBy: string;
}

/**
 * Exactly which bytes a version is: the artifact, its verified SHA-256 and the S3 object (etag,
 * and version id on a versioned bucket). The deployer stages only this object (docs/data-model.md).
 */
export interface ArtifactPin {
  readonly artifactId: string;
  readonly type: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly objectKey: string;
  readonly etag: string;
  readonly versionId: string | null;
}

export interface VersionRecord {
  readonly projectId: string;
  readonly modelId: string;
  readonly version: number;
  readonly experimentId: string;
  /** null when the experiment had no READY artifact at registration (then it cannot be deployed). */
  readonly artifact: ArtifactPin | null;
  readonly createdAt: string;
  readonly createdBy: string;
}

/**
 * A name claim whose model item is still missing after this long was left by a create that died
 * between its two writes; the next create of that name takes it over.
 */
const ORPHANED_NAME_CLAIM_MS = 60_000;

/**
 * Claims the model's name in its project, then writes the model. Returns the id of the model that
 * already holds the name when the claim fails. The claim goes first: a model item only exists once
 * its name is taken, so names stay unique without a transaction.
 */
export async function putNewModel(model: ModelRecord): Promise<{ existingModelId?: string }> {
  const claimKey = keys.modelName(model.projectId, model.name);
  const claimed = await putIfAbsent({
    ...claimKey,
    type: "modelName",
    modelId: model.modelId,
    claimedAt: model.createdAt,
  });
  if (!claimed) {
    const holder = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: claimKey, ConsistentRead: true }),
    );
    const holderId = (holder.Item?.modelId as string | undefined) ?? "unknown";
    const claimedAt = holder.Item?.claimedAt as string | undefined;
    const orphaned =
      holder.Item !== undefined &&
      !(await getModel(model.projectId, holderId)) &&
      (claimedAt === undefined || Date.now() - Date.parse(claimedAt) > ORPHANED_NAME_CLAIM_MS);
    if (!orphaned || !(await takeOverNameClaim(claimKey, holderId, model)))
      return { existingModelId: holderId };
  }
  await putNewItem({ ...keys.model(model.projectId, model.modelId), type: "model", ...model });
  return {};
}

/** Moves an orphaned name claim to a new model, unless someone else moved it first. */
async function takeOverNameClaim(
  claimKey: { pk: string; sk: string },
  orphanModelId: string,
  model: ModelRecord,
): Promise<boolean> {
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: claimKey,
      UpdateExpression: "SET modelId = :new, claimedAt = :at",
      ConditionExpression: "modelId = :old",
      ExpressionAttributeValues: { ":new": model.modelId, ":at": model.createdAt, ":old": orphanModelId },
    }),
  );
}

export async function getModel(projectId: string, modelId: string): Promise<ModelRecord | undefined> {
  return getRecord(keys.model(projectId, modelId), toModel);
}

/** The project's models in creation order (ids are time-ordered): one Query on the partition. */
export async function listModels(projectId: string, page: PageRequest): Promise<Page<ModelRecord>> {
  return queryPartitionPage(keys.modelPrefix(projectId), page, toModel);
}

/**
 * Takes the model's next registration ticket (an atomic counter on the model item). Tickets only
 * pace concurrent registrations (each waits for roughly its turn instead of racing every other);
 * which version a registration gets is decided by `putVersionIfFree` alone.
 */
export async function takeRegistrationTicket(projectId: string, modelId: string): Promise<number> {
  const out = await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.model(projectId, modelId),
      UpdateExpression: "ADD registrationTickets :one",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":one": 1 },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  return out.Attributes?.registrationTickets as number;
}

/**
 * Puts the ticket counter back in step with the versions (after a registration that took a ticket
 * died without writing a version), unless someone took a later ticket meanwhile.
 */
export async function resyncRegistrationTickets(
  projectId: string,
  modelId: string,
  lastTicket: number,
  version: number,
): Promise<void> {
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.model(projectId, modelId),
      UpdateExpression: "SET registrationTickets = :version",
      ConditionExpression: "registrationTickets = :last",
      ExpressionAttributeValues: { ":version": version, ":last": lastTicket },
    }),
  );
}

/** The model's highest version, or undefined before the first: one strongly consistent Query. */
export async function getLatestVersion(
  projectId: string,
  modelId: string,
): Promise<VersionRecord | undefined> {
  const out = await versionsNewestFirst(projectId, modelId, 1);
  const item = out.Items?.[0];
  return item ? toVersion(item) : undefined;
}

/**
 * Writes version N if no version N exists yet. Returns false when another registration took the
 * number first; the caller then reads the latest version again and tries N+1.
 */
export async function putVersionIfFree(record: VersionRecord): Promise<boolean> {
  return writeIfCondition(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.version(record.projectId, record.modelId, record.version),
        type: "version",
        ...record,
      },
      ConditionExpression: "attribute_not_exists(sk)",
    }),
  );
}

export async function getVersion(
  projectId: string,
  modelId: string,
  version: number,
): Promise<VersionRecord | undefined> {
  return getRecord(keys.version(projectId, modelId, version), toVersion);
}

/** A model's versions, 1 first (sort keys are zero-padded numbers): one Query on the partition. */
export async function listVersions(
  projectId: string,
  modelId: string,
  page: PageRequest,
): Promise<Page<VersionRecord>> {
  return queryPartitionPage(keys.versionPrefix(projectId, modelId), page, toVersion);
}

/**
 * The versions of a model written at or after `since`, newest first, read until an older one: used
 * to find the version a crashed registration wrote before it could record it on the experiment.
 */
export async function findRecentVersionOf(
  projectId: string,
  modelId: string,
  experimentId: string,
  since: string,
): Promise<VersionRecord | undefined> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await versionsNewestFirst(projectId, modelId, 100, startKey);
    for (const item of out.Items ?? []) {
      const version = toVersion(item);
      if (version.experimentId === experimentId) return version;
      if (version.createdAt < since) return undefined;
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return undefined;
}

/** One strongly consistent Query of a model's versions, highest first. */
function versionsNewestFirst(
  projectId: string,
  modelId: string,
  limit: number,
  startKey?: Record<string, unknown>,
) {
  const { pk, skPrefix } = keys.versionPrefix(projectId, modelId);
  return dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": pk, ":prefix": skPrefix },
      ScanIndexForward: false,
      Limit: limit,
      ConsistentRead: true,
      ExclusiveStartKey: startKey,
    }),
  );
}

function toModel(item: Record<string, unknown>): ModelRecord {
  return {
    modelId: item.modelId as string,
    projectId: item.projectId as string,
    name: item.name as string,
    description: (item.description as string) ?? "",
    createdAt: item.createdAt as string,
    createdBy: item.createdBy as string,
  };
}

function toVersion(item: Record<string, unknown>): VersionRecord {
  return {
    projectId: item.projectId as string,
    modelId: item.modelId as string,
    version: item.version as number,
    experimentId: item.experimentId as string,
    artifact: (item.artifact as ArtifactPin | null | undefined) ?? null,
    createdAt: item.createdAt as string,
    createdBy: item.createdBy as string,
  };
}
