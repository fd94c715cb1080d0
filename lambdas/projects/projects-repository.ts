import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "#lambdas/shared/aws-sdk.ts";
import { putNewItem, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryIndexPage, queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";
import type { Role } from "./roles.ts";

export interface ProjectRecord {
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly owner: string;
  readonly createdAt: string;
  /** The job deleting the project, once one was asked for. */
  readonly deletingJob?: string;
}

export interface MemberRecord {
  readonly projectId: string;
  readonly principal: string;
  readonly role: Role;
  readonly addedAt: string;
  /** Denormalised so that "my projects" is one index query. */
  readonly project: ProjectRecord;
  /** Set on every membership when the project is being deleted: writes are refused from then on. */
  readonly projectDeleting?: boolean;
}

/**
 * Writes the project and its owner's membership. The membership goes first: a project item is only
 * ever reachable through a membership, so a failure between the two writes leaves nothing visible.
 */
export async function putNewProject(project: ProjectRecord): Promise<void> {
  await putMember({
    projectId: project.projectId,
    principal: project.owner,
    role: "owner",
    addedAt: project.createdAt,
    project,
  });
  await putNewItem({ ...keys.project(project.projectId), type: "project", ...project, owners: 1 });
}

export async function getProject(projectId: string): Promise<ProjectRecord | undefined> {
  return getRecord(keys.project(projectId), toProject);
}

export async function getMember(projectId: string, principal: string): Promise<MemberRecord | undefined> {
  return getRecord(keys.member(projectId, principal), toMember);
}

export async function putMember(member: MemberRecord): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.member(member.projectId, member.principal),
        ...keys.memberIndex(member.principal, member.project.createdAt, member.projectId),
        type: "member",
        ...member,
      },
    }),
  );
}

/**
 * Owner seats: the project item counts its owners, so that giving up ownership is one conditional
 * write on one item. Two owners removing each other at once cannot both pass "owners > 1".
 * A seat is released before an owner membership goes and taken after one is written, so a crash in
 * between leaves the count low (refusing too much), never high.
 */
export async function releaseOwnerSeat(projectId: string): Promise<boolean> {
  return changeOwnerSeats(projectId, "SET owners = owners - :one", "owners > :one");
}

export async function takeOwnerSeat(projectId: string): Promise<void> {
  await changeOwnerSeats(projectId, "ADD owners :one", "attribute_exists(pk)");
}

/** One seat more or less on the project item, if `condition` holds: true when applied. */
async function changeOwnerSeats(projectId: string, update: string, condition: string): Promise<boolean> {
  await ensureOwnerCount(projectId);
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.project(projectId),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeValues: { ":one": 1 },
    }),
  );
}

/** Projects created before owner seats were counted get their count once, from their members. */
async function ensureOwnerCount(projectId: string): Promise<void> {
  const out = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.project(projectId),
      ConsistentRead: true,
      ProjectionExpression: "owners",
    }),
  );
  if (!out.Item || typeof out.Item.owners === "number") return;
  let owners = 0;
  let cursor: string | undefined;
  do {
    const page = await listMembers(projectId, { limit: 100, cursor });
    owners += page.items.filter((m) => m.role === "owner").length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.project(projectId),
      UpdateExpression: "SET owners = :n",
      ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(owners)",
      ExpressionAttributeValues: { ":n": owners },
    }),
  );
}

export async function deleteMember(projectId: string, principal: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: TABLE_NAME, Key: keys.member(projectId, principal) }));
}

export async function listMembers(projectId: string, page: PageRequest): Promise<Page<MemberRecord>> {
  return queryPartitionPage(keys.memberPrefix(projectId), page, toMember);
}

/** The projects a principal belongs to, oldest first: one query of GSI1. */
export async function listMembershipsOf(principal: string, page: PageRequest): Promise<Page<MemberRecord>> {
  // An index's LastEvaluatedKey holds the index keys and the table keys.
  return queryIndexPage(keys.memberIndexPartition(principal), page, toMember, {
    attributes: ["gsi1pk", "gsi1sk", "pk", "sk"],
    sortKey: { attribute: "sk", prefix: "MEMBER#" },
  });
}

/** True when the project's partition holds anything of the given kind (e.g. "DEPLOYMENT#"). */
export async function projectHas(projectId: string, skPrefix: string): Promise<boolean> {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": keys.projectPartition(projectId), ":prefix": skPrefix },
      Limit: 1,
      ProjectionExpression: "pk",
    }),
  );
  return (out.Items?.length ?? 0) > 0;
}

/**
 * Marks the project as being deleted by `jobId`, then every membership (authorisation reads only the
 * membership, so that is where writes learn of it). False when another deletion marked it first.
 */
export async function markProjectDeleting(
  projectId: string,
  jobId: string,
  /** A deletion job that FAILED: the new job takes its place. */
  replacing?: string,
): Promise<boolean> {
  const marked = await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.project(projectId),
      UpdateExpression: "SET deletingJob = :j",
      ConditionExpression: replacing
        ? "attribute_exists(pk) AND deletingJob = :previous"
        : "attribute_exists(pk) AND attribute_not_exists(deletingJob)",
      ExpressionAttributeValues: { ":j": jobId, ...(replacing ? { ":previous": replacing } : {}) },
    }),
  );
  let cursor: string | undefined;
  do {
    const page = await listMembers(projectId, { limit: 100, cursor });
    await Promise.all(
      page.items.map((member) =>
        writeIfCondition(
          new UpdateCommand({
            TableName: TABLE_NAME,
            Key: keys.member(projectId, member.principal),
            UpdateExpression: "SET projectDeleting = :t",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeValues: { ":t": true },
          }),
        ),
      ),
    );
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return marked;
}

/**
 * Deletes the next batch of a project's items, all but the project item (which goes last, so a
 * deletion interrupted anywhere is found and resumed). Returns how many it deleted: 0 when only
 * the project item is left.
 */
export async function deleteProjectItemsBatch(projectId: string, limit = 100): Promise<number> {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.projectPartition(projectId) },
      ProjectionExpression: "pk, sk",
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  const doomed = (out.Items ?? []).filter((item) => item.sk !== "PROJECT");
  for (let i = 0; i < doomed.length; i += 25) {
    let requests = doomed
      .slice(i, i + 25)
      .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }));
    while (requests.length > 0) {
      const result = await dynamo.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: requests } }));
      requests = (result.UnprocessedItems?.[TABLE_NAME] ?? []) as typeof requests;
    }
  }
  return doomed.length;
}

export async function deleteProjectItem(projectId: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: TABLE_NAME, Key: keys.project(projectId) }));
}

function toProject(item: Record<string, unknown>): ProjectRecord {
  return {
    projectId: item.projectId as string,
    name: item.name as string,
    description: (item.description as string) ?? "",
    owner: item.owner as string,
    createdAt: item.createdAt as string,
    ...(typeof item.deletingJob === "string" ? { deletingJob: item.deletingJob } : {}),
  };
}

function toMember(item: Record<string, unknown>): MemberRecord {
  return {
    projectId: item.projectId as string,
    principal: item.principal as string,
    role: item.role as Role,
    addedAt: item.addedAt as string,
    project: toProject(item.project as Record<string, unknown>),
    ...(item.projectDeleting === true ? { projectDeleting: true } : {}),
  };
}
