import { DeleteCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putNewItem, sendIfCondition, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { PayloadTooLargeError } from "#lambdas/shared/errors.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";
import type { Metadata, MetadataValue } from "./metadata.ts";

/** What a model-version registration has written on the experiment (see docs/data-model.md). */
export interface RegistrationClaim {
  readonly modelId: string;
  /** Set once the version is allocated; absent while the registration is in flight. */
  readonly version?: number;
  readonly claimId: string;
  readonly claimedAt: string;
}

export interface ExperimentRecord {
  readonly experimentId: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly metadata: Metadata;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly createdBy: string;
  readonly registeredAs?: RegistrationClaim;
}

/**
 * Metadata as stored: `{t, v}` with the value as text. Typed values keep their type exactly, and
 * doubles and JSON escape DynamoDB's number range (±1E125, 38 digits) which JSON numbers exceed.
 */
/**
 * Metadata keys are stored with a prefix, so that a user's key can never be mistaken for a property
 * the SDK's marshaller looks at ("constructor", "toString").
 */
const storedKey = (key: string) => `k:${key}`;
const userKey = (stored: string) => stored.slice(2);

type StoredValue =
  | { t: "string" | "int64" | "double" | "json" | "timestamp"; v: string }
  | { t: "bool"; v: boolean };

export class ExperimentTooLargeError extends PayloadTooLargeError {
  constructor(experimentId: string) {
    super(
      `Experiment '${experimentId}' would exceed the 400 KB item limit with this metadata. Store large values as an artifact and keep a reference in metadata.`,
    );
  }
}

/** Creates the experiment item; fails if the id is already taken (it never is: ids are random). */
export async function putNewExperiment(record: ExperimentRecord): Promise<void> {
  await guardItemSize(record.experimentId, () => putNewItem(toItem(record)));
}

export async function getExperiment(
  projectId: string,
  experimentId: string,
): Promise<ExperimentRecord | undefined> {
  return getRecord(keys.experiment(projectId, experimentId), toRecord);
}

/** The project's experiments in creation order (ids are time-ordered): one Query on the partition. */
export async function listExperiments(projectId: string, page: PageRequest): Promise<Page<ExperimentRecord>> {
  return queryPartitionPage(keys.experimentPrefix(projectId), page, toRecord);
}

/**
 * Sets and removes metadata keys in one conditional update, so concurrent patches of different
 * keys merge instead of overwriting each other. Returns undefined when the experiment does not exist,
 * "registered" when `unregisteredOnly` and a registration holds it (the same item's condition as the
 * registration claim, so a frozen key cannot slip in while a registration starts).
 */
export async function updateExperimentMetadata(
  projectId: string,
  experimentId: string,
  set: Record<string, MetadataValue>,
  remove: string[],
  options: { readonly unregisteredOnly?: boolean; readonly updatedAt?: string } = {},
): Promise<ExperimentRecord | undefined | "registered"> {
  const updatedAt = options.updatedAt ?? new Date().toISOString();
  const names: Record<string, string> = { "#u": "updatedAt" };
  if (Object.keys(set).length + remove.length > 0) names["#m"] = "metadata";
  const values: Record<string, unknown> = { ":u": updatedAt };
  const sets = ["#u = :u"];
  Object.entries(set).forEach(([key, value], i) => {
    names[`#s${i}`] = storedKey(key);
    values[`:s${i}`] = encodeValue(value);
    sets.push(`#m.#s${i} = :s${i}`);
  });
  const removes = remove.map((key, i) => {
    names[`#r${i}`] = storedKey(key);
    return `#m.#r${i}`;
  });
  const out = await guardItemSize(experimentId, () =>
    sendIfCondition(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.experiment(projectId, experimentId),
        UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
        ConditionExpression: options.unregisteredOnly
          ? "attribute_exists(pk) AND attribute_not_exists(registeredAs)"
          : "attribute_exists(pk)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    ),
  );
  if (out) return out.Attributes ? toRecord(out.Attributes) : undefined;
  if (options.unregisteredOnly && (await getExperiment(projectId, experimentId))) return "registered";
  return undefined;
}

export type DeleteOutcome = "deleted" | "missing" | "registered";

/**
 * Deletes an experiment item unless it is (being) registered as a model version: the condition
 * makes the check and the delete one atomic step. Its artifacts go in a job (experiment-deletion.ts).
 */
export async function deleteExperiment(projectId: string, experimentId: string): Promise<DeleteOutcome> {
  const deleted = await writeIfCondition(
    new DeleteCommand({
      TableName: TABLE_NAME,
      Key: keys.experiment(projectId, experimentId),
      ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(registeredAs)",
    }),
  );
  if (deleted) return "deleted";
  return (await getExperiment(projectId, experimentId)) ? "registered" : "missing";
}

/**
 * Claims the experiment for a model-version registration: succeeds only if the experiment exists
 * and no registration holds it. Returns false when the condition fails.
 */
export async function claimForRegistration(
  projectId: string,
  experimentId: string,
  claim: RegistrationClaim,
): Promise<boolean> {
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.experiment(projectId, experimentId),
      UpdateExpression: "SET registeredAs = :claim",
      ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(registeredAs)",
      ExpressionAttributeValues: { ":claim": claim },
    }),
  );
}

/** Records the allocated version number on the claim this registration holds. */
export async function completeRegistration(
  projectId: string,
  experimentId: string,
  claimId: string,
  version: number,
): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.experiment(projectId, experimentId),
      UpdateExpression: "SET registeredAs.version = :v",
      ConditionExpression: "registeredAs.claimId = :c",
      ExpressionAttributeValues: { ":v": version, ":c": claimId },
    }),
  );
}

/** Gives up a claim whose version could not be allocated; only the claim's holder can release it. */
export async function releaseRegistration(
  projectId: string,
  experimentId: string,
  claimId: string,
): Promise<void> {
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.experiment(projectId, experimentId),
      UpdateExpression: "REMOVE registeredAs",
      ConditionExpression: "registeredAs.claimId = :c AND attribute_not_exists(registeredAs.version)",
      ExpressionAttributeValues: { ":c": claimId },
    }),
  );
}

/** DynamoDB refuses items over 400 KB with a ValidationException; that is the caller's input. */
async function guardItemSize<T>(experimentId: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const e = error as Error | undefined;
    if (e?.name === "ValidationException" && /size/i.test(e.message))
      throw new ExperimentTooLargeError(experimentId);
    throw error;
  }
}

function toItem(record: ExperimentRecord): Record<string, unknown> {
  return {
    ...keys.experiment(record.projectId, record.experimentId),
    type: "experiment",
    ...record,
    metadata: Object.fromEntries(
      Object.entries(record.metadata).map(([k, v]) => [storedKey(k), encodeValue(v)]),
    ),
  };
}

function toRecord(item: Record<string, unknown>): ExperimentRecord {
  const stored = (item.metadata ?? {}) as Record<string, StoredValue>;
  const registeredAs = item.registeredAs as RegistrationClaim | undefined;
  return {
    experimentId: item.experimentId as string,
    projectId: item.projectId as string,
    name: item.name as string,
    description: (item.description as string) ?? "",
    metadata: Object.fromEntries(Object.entries(stored).map(([k, v]) => [userKey(k), decodeValue(v)])),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    createdBy: item.createdBy as string,
    ...(registeredAs ? { registeredAs } : {}),
  };
}

function encodeValue(value: MetadataValue): StoredValue {
  if ("string_value" in value) return { t: "string", v: value.string_value };
  if ("int64_value" in value) return { t: "int64", v: value.int64_value };
  if ("double_value" in value) return { t: "double", v: String(value.double_value) };
  if ("bool_value" in value) return { t: "bool", v: value.bool_value };
  if ("timestamp_value" in value) return { t: "timestamp", v: value.timestamp_value };
  return { t: "json", v: JSON.stringify(value.json_value ?? null) };
}

function decodeValue(stored: StoredValue): MetadataValue {
  switch (stored.t) {
    case "string":
      return { string_value: stored.v };
    case "int64":
      return { int64_value: stored.v };
    case "double":
      return { double_value: Number(stored.v) };
    case "bool":
      return { bool_value: stored.v };
    case "timestamp":
      return { timestamp_value: stored.v };
    case "json":
      return { json_value: JSON.parse(stored.v) };
  }
}
