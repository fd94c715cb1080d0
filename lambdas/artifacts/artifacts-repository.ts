import { BatchWriteCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putIfAbsent, sendIfCondition, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";
import type { ArtifactStatus } from "./artifact-limits.ts";

export type { ArtifactStatus };

/** How the bytes arrive: one presigned PUT, presigned multipart parts, or written by Byom itself. */
export type UploadPlan =
  | { readonly kind: "single" }
  | {
      readonly kind: "multipart";
      readonly uploadId: string;
      readonly partSizeBytes: number;
      readonly partCount: number;
    }
  | { readonly kind: "internal"; readonly source: string };

/** What ingestion learnt from an MLflow model's MLmodel file. */
export interface ModelDescription {
  readonly flavors: string[];
  readonly framework: string;
  readonly pythonVersion: string | null;
  readonly loaderModule: string | null;
  readonly mlflowVersion: string | null;
  /** Where the MLmodel was found inside the zip. */
  readonly mlmodelPath: string;
  readonly hasSignature: boolean;
}

export interface ArtifactRef {
  readonly projectId: string;
  readonly experimentId: string;
  readonly artifactId: string;
}

export interface ArtifactRecord extends ArtifactRef {
  readonly type: string;
  readonly fileName: string;
  /** Declared at creation; ingestion checks the object against it. */
  readonly sizeBytes: number;
  readonly declaredSha256: string | null;
  /** The SHA-256 ingestion computed (hex), once it has. */
  readonly sha256: string | null;
  readonly framework: string | null;
  readonly status: ArtifactStatus;
  readonly failureReason: string | null;
  /** Things a person should know about a READY artifact (e.g. "set input_schema before deploying"). */
  readonly notices: string[];
  readonly model: ModelDescription | null;
  readonly objectKey: string;
  readonly upload: UploadPlan;
  /** The etag of the object ingestion read (set when it claims the artifact). */
  readonly objectEtag: string | null;
  /** Its S3 version id, on a versioned bucket (AWS; s3rver keeps none). */
  readonly objectVersionId: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Creates the artifact item; false when one with this id exists already. */
export async function putNewArtifact(record: ArtifactRecord): Promise<boolean> {
  return putIfAbsent(toItem(record));
}

export async function getArtifact(ref: ArtifactRef): Promise<ArtifactRecord | undefined> {
  return getRecord(keys.artifact(ref.projectId, ref.experimentId, ref.artifactId), toRecord);
}

/** An experiment's artifacts in creation order: one Query on the project partition. */
export async function listArtifacts(
  projectId: string,
  experimentId: string,
  page: PageRequest,
): Promise<Page<ArtifactRecord>> {
  return queryPartitionPage(keys.artifactPrefix(projectId, experimentId), page, toRecord);
}

/** Every artifact of a project, all experiments together (deleting the project). */
export async function listProjectArtifacts(
  projectId: string,
  page: PageRequest,
): Promise<Page<ArtifactRecord>> {
  return queryPartitionPage(keys.projectArtifactsPrefix(projectId), page, toRecord);
}

/**
 * Takes an artifact for ingestion of the object with `etag`: UPLOADING → INGESTING, or a takeover
 * of an INGESTING claim whose holder has not finished in time (its Lambda died). READY and FAILED
 * are final, so duplicate and late events change nothing. Returns the record, or undefined when
 * another delivery holds it or it is final.
 */
export async function claimForIngestion(
  ref: ArtifactRef,
  object: { readonly etag: string; readonly versionId: string | undefined },
  token: string,
  now: string,
  expiresAt: string,
): Promise<ArtifactRecord | undefined> {
  const out = await sendIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId),
      UpdateExpression:
        "SET #s = :ingesting, claimToken = :token, claimExpiresAt = :expires, objectEtag = :etag, objectVersionId = :vid, updatedAt = :now",
      ConditionExpression:
        "attribute_exists(pk) AND (#s = :uploading OR (#s = :ingesting AND claimExpiresAt < :now))",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":ingesting": "INGESTING",
        ":uploading": "UPLOADING",
        ":token": token,
        ":expires": expiresAt,
        ":etag": object.etag,
        ":vid": object.versionId ?? null,
        ":now": now,
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  return out?.Attributes ? toRecord(out.Attributes) : undefined;
}

export type IngestionOutcome =
  | {
      readonly status: "READY";
      readonly sha256: string;
      readonly model: ModelDescription | null;
      readonly notices: string[];
    }
  | { readonly status: "FAILED"; readonly failureReason: string; readonly sha256: string | null };

/** INGESTING → READY or FAILED, only by the claim's holder. False when the claim was lost. */
export async function finishIngestion(
  ref: ArtifactRef,
  token: string,
  outcome: IngestionOutcome,
  now: string,
): Promise<boolean> {
  const values: Record<string, unknown> = {
    ":status": outcome.status,
    ":token": token,
    ":ingesting": "INGESTING",
    ":now": now,
    ":sha": outcome.sha256,
  };
  let set = "#s = :status, sha256 = :sha, updatedAt = :now";
  if (outcome.status === "READY") {
    set += ", model = :model, notices = :notices";
    values[":model"] = outcome.model;
    values[":notices"] = outcome.notices;
  } else {
    set += ", failureReason = :reason";
    values[":reason"] = outcome.failureReason;
  }
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId),
      UpdateExpression: `SET ${set} REMOVE claimToken, claimExpiresAt`,
      ConditionExpression: "#s = :ingesting AND claimToken = :token",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: values,
    }),
  );
}

/** Gives a claim back after a transient failure, so the retried message can take it at once. */
export async function releaseIngestionClaim(ref: ArtifactRef, token: string): Promise<void> {
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId),
      UpdateExpression: "SET claimExpiresAt = :past",
      ConditionExpression: "claimToken = :token",
      ExpressionAttributeValues: { ":past": "1970-01-01T00:00:00.000Z", ":token": token },
    }),
  );
}

/** UPLOADING → FAILED before any object arrived (an import whose transfer broke off). */
export async function failUpload(ref: ArtifactRef, reason: string, now: string): Promise<void> {
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId),
      UpdateExpression: "SET #s = :failed, failureReason = :reason, updatedAt = :now",
      ConditionExpression: "#s = :uploading",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":failed": "FAILED",
        ":uploading": "UPLOADING",
        ":reason": reason,
        ":now": now,
      },
    }),
  );
}

/** Records the size and checksum of an object Byom wrote itself, before it is completed. */
export async function setUploadedObject(ref: ArtifactRef, sizeBytes: number, sha256: string, now: string) {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId),
      UpdateExpression: "SET sizeBytes = :size, declaredSha256 = :sha, updatedAt = :now",
      ConditionExpression: "#s = :uploading",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":size": sizeBytes,
        ":sha": sha256,
        ":now": now,
        ":uploading": "UPLOADING",
      },
    }),
  );
}

/** Deletes up to 25 artifact items in one batch (retrying what DynamoDB leaves unprocessed). */
export async function deleteArtifactRecords(refs: readonly ArtifactRef[]): Promise<void> {
  for (let i = 0; i < refs.length; i += 25) {
    let requests = refs.slice(i, i + 25).map((ref) => ({
      DeleteRequest: { Key: keys.artifact(ref.projectId, ref.experimentId, ref.artifactId) },
    }));
    while (requests.length > 0) {
      const out = await dynamo.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: requests } }));
      requests = (out.UnprocessedItems?.[TABLE_NAME] ?? []) as typeof requests;
    }
  }
}

/** The item's `type` names the entity (as for every item); the artifact's own type is `artifactType`. */
function toItem(record: ArtifactRecord): Record<string, unknown> {
  const { type, ...rest } = record;
  return {
    ...keys.artifact(record.projectId, record.experimentId, record.artifactId),
    ...rest,
    type: "artifact",
    artifactType: type,
  };
}

function toRecord(item: Record<string, unknown>): ArtifactRecord {
  return {
    projectId: item.projectId as string,
    experimentId: item.experimentId as string,
    artifactId: item.artifactId as string,
    type: item.artifactType as string,
    fileName: item.fileName as string,
    sizeBytes: item.sizeBytes as number,
    declaredSha256: (item.declaredSha256 as string | null) ?? null,
    sha256: (item.sha256 as string | null) ?? null,
    framework: (item.framework as string | null) ?? null,
    status: item.status as ArtifactStatus,
    failureReason: (item.failureReason as string | null) ?? null,
    notices: (item.notices as string[] | undefined) ?? [],
    model: (item.model as ModelDescription | null) ?? null,
    objectKey: item.objectKey as string,
    upload: item.upload as UploadPlan,
    objectEtag: (item.objectEtag as string | null) ?? null,
    objectVersionId: (item.objectVersionId as string | null) ?? null,
    createdBy: item.createdBy as string,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
