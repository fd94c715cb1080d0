import { type AlbUse, albQuotas, albUseOf, checkAlbQuotas } from "#lambdas/deployments/alb-quotas.ts";
import { everyDeployment, existingDeploymentIds } from "#lambdas/deployments/every-deployment.ts";
import { GetCommand, UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putIfAbsent, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { dynamo } from "#lambdas/shared/dynamo-client.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";

/**
 * The scoring load balancer's quotas, reserved atomically (docs/deployments.md, Load balancer
 * quotas). One item holds the totals reserved and each deployment's entry; a create or PATCH adds
 * its need with one conditional update whose condition is that the new totals fit the quotas, so
 * two requests racing for the last rules cannot both pass (a check over the deployment records
 * could: each reads the other's record before it exists). The workflow lowers an entry to what the
 * deployment holds once a revision is live, a failed run to what stayed, the delete workflow
 * removes it. An entry remembers the workflow that set it: a run that finishes after a newer
 * request reserved for the same deployment leaves that newer entry alone.
 */
export interface AlbReservation extends AlbUse {
  /** The workflow the entry was reserved for. */
  readonly workflowId: string;
  /** When (epoch ms): an entry whose deployment was never written is swept once it is old. */
  readonly at?: number;
}

interface Ledger {
  readonly rules: number;
  readonly targetGroups: number;
  readonly reservations: Readonly<Record<string, AlbReservation>>;
}

/** Attempts when another reservation changed the same deployment's entry between read and write. */
const ATTEMPTS = 20;

export class AlbReservationBusyError extends ConflictError {
  override readonly code = "ALB_RESERVATION_BUSY";
}

/**
 * The ledger, created the first time from the deployment records (an installation that had
 * deployments before the ledger existed starts from what they hold).
 */
export async function readAlbLedger(): Promise<Ledger> {
  for (;;) {
    const out = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.albReservations, ConsistentRead: true }),
    );
    if (out.Item) {
      return {
        rules: Number(out.Item.rules ?? 0),
        targetGroups: Number(out.Item.targetGroups ?? 0),
        reservations: (out.Item.reservations ?? {}) as Record<string, AlbReservation>,
      };
    }
    const reservations: Record<string, AlbReservation> = {};
    for await (const record of everyDeployment()) {
      const use = albUseOf(record);
      if (use.rules > 0 || use.targetGroups > 0)
        reservations[record.deploymentId] = {
          ...use,
          workflowId: record.activeWorkflow ?? "",
          at: Date.now(),
        };
    }
    const totals = Object.values(reservations).reduce(
      (sum, r) => ({ rules: sum.rules + r.rules, targetGroups: sum.targetGroups + r.targetGroups }),
      { rules: 0, targetGroups: 0 },
    );
    // Another request may create it first: then read theirs.
    await putIfAbsent({ ...keys.albReservations, type: "albReservations", ...totals, reservations });
  }
}

const NONE: AlbUse = { rules: 0, targetGroups: 0 };

/**
 * Sets `deploymentId`'s entry to `next` (undefined: removes it) in one conditional update: the
 * entry must still be `current`, and when `limit` is given the new totals must fit it.
 */
function writeEntry(
  deploymentId: string,
  current: AlbReservation | undefined,
  next: AlbReservation | undefined,
  limit: AlbUse | undefined,
): Promise<boolean> {
  const before = current ?? NONE;
  const after = next ?? NONE;
  // Every name through a placeholder: RULES is one of DynamoDB's reserved words.
  const names: Record<string, string> = {
    "#r": "reservations",
    "#d": deploymentId,
    "#rules": "rules",
    "#groups": "targetGroups",
  };
  const values: Record<string, unknown> = {
    ":dr": after.rules - before.rules,
    ":dt": after.targetGroups - before.targetGroups,
  };
  const conditions = ["attribute_exists(pk)"];
  if (current) {
    names["#wf"] = "workflowId";
    values[":wf"] = current.workflowId;
    values[":or"] = current.rules;
    values[":ot"] = current.targetGroups;
    conditions.push("#r.#d.#wf = :wf AND #r.#d.#rules = :or AND #r.#d.#groups = :ot");
  } else {
    conditions.push("attribute_not_exists(#r.#d)");
  }
  if (limit) {
    // The totals after this change fit: total + delta <= quota.
    values[":mr"] = limit.rules - (after.rules - before.rules);
    values[":mt"] = limit.targetGroups - (after.targetGroups - before.targetGroups);
    conditions.push("#rules <= :mr AND #groups <= :mt");
  }
  if (next)
    values[":next"] = {
      rules: next.rules,
      targetGroups: next.targetGroups,
      workflowId: next.workflowId,
      at: next.at ?? Date.now(),
    };
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.albReservations,
      UpdateExpression: `${next ? "SET #r.#d = :next " : "REMOVE #r.#d "}ADD #rules :dr, #groups :dt`,
      ConditionExpression: conditions.join(" AND "),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/**
 * Reserves what `deploymentId` will hold at its peak for `workflowId` (a create: its targets; a
 * PATCH: its live slots and the new revision's side by side), replacing its entry. Throws 409
 * ALB_QUOTA_EXCEEDED with the numbers when the other deployments' reservations leave no room.
 * Returns the entry it replaced, for `restoreAlbReservation` if the request then fails.
 */
export async function reserveAlb(
  deploymentId: string,
  use: AlbUse,
  workflowId: string,
  quotas: AlbUse = albQuotas(),
): Promise<AlbReservation | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const ledger = await readAlbLedger();
    const current = ledger.reservations[deploymentId];
    const own = current ?? NONE;
    const others = { rules: ledger.rules - own.rules, targetGroups: ledger.targetGroups - own.targetGroups };
    checkAlbQuotas(others, use, quotas);
    if (await writeEntry(deploymentId, current, { ...use, workflowId }, quotas)) return current;
    // Either another reservation took the room (the next read says so) or changed this entry.
  }
  throw new AlbReservationBusyError(
    `Deployment '${deploymentId}' could not reserve its load balancer rules: other requests kept changing them. Retry the request.`,
  );
}

/**
 * Sets the entry `workflowId` reserved to `use` (undefined: removes it), unless a newer request
 * reserved for the deployment since: lowers a finished run's peak to what it holds.
 */
export async function settleAlbReservation(
  deploymentId: string,
  workflowId: string,
  use: AlbUse | undefined,
): Promise<void> {
  const next = use && (use.rules > 0 || use.targetGroups > 0) ? { ...use, workflowId } : undefined;
  if (!(await replaceOwnEntry(deploymentId, workflowId, next)))
    throw new AlbReservationBusyError(`The load balancer reservation of '${deploymentId}' kept changing.`);
}

/** A request that reserved and then failed puts back the entry it replaced. */
export async function restoreAlbReservation(
  deploymentId: string,
  workflowId: string,
  previous: AlbReservation | undefined,
): Promise<void> {
  await replaceOwnEntry(deploymentId, workflowId, previous);
}

/**
 * Replaces the entry `workflowId` reserved with `next` (undefined: removes it); nothing to do when
 * a newer request reserved for the deployment since. False when the ledger kept changing.
 */
async function replaceOwnEntry(
  deploymentId: string,
  workflowId: string,
  next: AlbReservation | undefined,
): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = (await readAlbLedger()).reservations[deploymentId];
    if (!current || current.workflowId !== workflowId) return true;
    if (await writeEntry(deploymentId, current, next, undefined)) return true;
  }
  return false;
}

/** The delete workflow's end: the deployment holds nothing any more. */
export async function releaseAlbReservation(deploymentId: string): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = (await readAlbLedger()).reservations[deploymentId];
    if (!current) return;
    if (await writeEntry(deploymentId, current, undefined, undefined)) return;
  }
}

/** How old an entry without a deployment record must be before the sweep removes it. */
export const ABANDONED_RESERVATION_MS = 15 * 60_000;

/**
 * Removes the entries of deployments that have no record: a request that died between reserving
 * and writing its record (its own failure path puts the entry back). Only entries older than
 * ABANDONED_RESERVATION_MS: a create in progress has reserved and not yet written. Run by the
 * health monitor. Returns the deployment ids whose entries it removed.
 */
export async function sweepAlbReservations(now = Date.now()): Promise<string[]> {
  const ledger = await readAlbLedger();
  const old = Object.entries(ledger.reservations).filter(
    ([, entry]) => now - (entry.at ?? 0) >= ABANDONED_RESERVATION_MS,
  );
  if (old.length === 0) return [];
  const existing = await existingDeploymentIds();
  const removed: string[] = [];
  for (const [deploymentId, entry] of old) {
    if (existing.has(deploymentId)) continue;
    if (await writeEntry(deploymentId, entry, undefined, undefined)) removed.push(deploymentId);
  }
  return removed;
}
