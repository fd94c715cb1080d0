import type {
  DeploymentEvent,
  DeploymentRecord,
  Slot,
  SlotResources,
} from "#lambdas/deployments/deployment-record.ts";
import { DeleteCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putNewItem, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { queryIndexPage, queryPartitionPage } from "#lambdas/shared/partition-page.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";

/**
 * One item per deployment. Slots are stored as maps keyed by slot id, so parallel workflow
 * branches record their own resources with single-attribute updates and never overwrite each
 * other; events are appended with list_append for the same reason.
 */
type Item = Record<string, unknown>;

/** Events kept on the item; older ones are dropped when a change trims the list. */
export const MAX_EVENTS = 100;

export async function putNewDeployment(record: DeploymentRecord): Promise<void> {
  await putNewItem(toItem(record));
}

export async function getDeployment(
  projectId: string,
  deploymentId: string,
): Promise<DeploymentRecord | undefined> {
  return getRecord(keys.deployment(projectId, deploymentId), fromItem);
}

export async function listDeployments(projectId: string, page: PageRequest): Promise<Page<DeploymentRecord>> {
  return queryPartitionPage(keys.deploymentPrefix(projectId), page, fromItem);
}

/** Every deployment, a page at a time (GSI1), for the health monitor. */
export async function listAllDeployments(cursor?: string): Promise<Page<DeploymentRecord>> {
  return queryIndexPage(keys.deploymentIndexPartition, { limit: 100, cursor }, fromItem);
}

export interface DeploymentChange {
  /** Top-level attributes to set (slots as arrays are converted to their stored maps). */
  readonly set?: Partial<Omit<DeploymentRecord, "events" | "projectId" | "deploymentId">>;
  readonly event?: DeploymentEvent;
  /** Only when no workflow holds the deployment; the change then claims it for `claimFor`. */
  readonly claimFor?: string;
  /** Only while this workflow holds the deployment. */
  readonly heldBy?: string;
  /** Only while no workflow holds it and it serves (HEALTHY or UNHEALTHY): the health monitor's changes. */
  readonly idle?: boolean;
}

/**
 * Applies a change in one conditional update. Returns false when the deployment is gone or the
 * claim condition does not hold (another workflow holds it).
 */
export async function changeDeployment(
  projectId: string,
  deploymentId: string,
  change: DeploymentChange,
): Promise<boolean> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const set: Item = { ...change.set };
  if (change.claimFor !== undefined) set.activeWorkflow = change.claimFor;
  for (const [name, value] of Object.entries(set)) {
    const stored = name === "slots" || name === "pendingSlots" ? slotMap(value as readonly Slot[]) : value;
    names[`#${name}`] = name;
    values[`:${name}`] = stored ?? null;
    sets.push(`#${name} = :${name}`);
  }
  if (change.event) {
    names["#events"] = "events";
    values[":event"] = [change.event];
    values[":none"] = [];
    sets.push("#events = list_append(if_not_exists(#events, :none), :event)");
  }
  const conditions = ["attribute_exists(pk)"];
  if (change.claimFor !== undefined) {
    names["#active"] = "activeWorkflow";
    conditions.push("(attribute_not_exists(#active) OR #active = :null)");
    values[":null"] = null;
  }
  if (change.idle) {
    names["#active"] = "activeWorkflow";
    names["#status"] = "status";
    values[":null"] = null;
    values[":healthy"] = "HEALTHY";
    values[":unhealthy"] = "UNHEALTHY";
    conditions.push(
      "(attribute_not_exists(#active) OR #active = :null)",
      "#status IN (:healthy, :unhealthy)",
    );
  }
  if (change.heldBy !== undefined) {
    names["#active"] = "activeWorkflow";
    values[":holder"] = change.heldBy;
    conditions.push("#active = :holder");
  }
  if (sets.length === 0) return true;
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.deployment(projectId, deploymentId),
      UpdateExpression: `SET ${sets.join(", ")}`,
      ConditionExpression: conditions.join(" AND "),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Records one resource of a slot being built, the moment it exists, so cleanup can find it. */
export async function recordSlotResource(
  projectId: string,
  deploymentId: string,
  slotId: string,
  resource: keyof SlotResources,
  value: string,
): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.deployment(projectId, deploymentId),
      UpdateExpression: "SET pendingSlots.#slot.resources.#resource = :value",
      ConditionExpression: "attribute_exists(pendingSlots.#slot)",
      ExpressionAttributeNames: { "#slot": slotId, "#resource": resource },
      ExpressionAttributeValues: { ":value": value },
    }),
  );
}

export async function deleteDeploymentItem(projectId: string, deploymentId: string): Promise<void> {
  await dynamo.send(
    new DeleteCommand({ TableName: TABLE_NAME, Key: keys.deployment(projectId, deploymentId) }),
  );
}

function slotMap(slots: readonly Slot[] | undefined): Record<string, Slot> {
  const map: Record<string, Slot> = {};
  for (const slot of slots ?? []) map[slot.slotId] = slot;
  return map;
}

function slotList(map: unknown): Slot[] {
  return Object.values((map ?? {}) as Record<string, Slot>).sort(
    (a, b) => (a.position ?? 0) - (b.position ?? 0) || a.slotId.localeCompare(b.slotId),
  );
}

function toItem(record: DeploymentRecord): Item {
  return {
    ...keys.deployment(record.projectId, record.deploymentId),
    ...keys.deploymentIndex(record.deploymentId),
    type: "deployment",
    ...record,
    slots: slotMap(record.slots),
    pendingSlots: slotMap(record.pendingSlots),
  };
}

function fromItem(item: Item): DeploymentRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, type: _type, ...rest } = item;
  const events = ((item.events as DeploymentEvent[] | undefined) ?? []).slice(-MAX_EVENTS);
  return {
    ...(rest as unknown as DeploymentRecord),
    failureReason: (item.failureReason as string | null | undefined) ?? null,
    endpointUrl: (item.endpointUrl as string | null | undefined) ?? null,
    activeWorkflow: (item.activeWorkflow as string | null | undefined) ?? null,
    events,
    slots: slotList(item.slots),
    pendingSlots: slotList(item.pendingSlots),
  };
}
