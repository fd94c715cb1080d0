import { UpdateCommand } from "#lambdas/shared/aws-sdk.ts";
import { putNewItem, sendIfCondition, writeIfCondition } from "#lambdas/shared/conditions.ts";
import { getRecord } from "#lambdas/shared/item-get.ts";
import { keys, TABLE_NAME } from "#lambdas/shared/table.ts";
import type { JobKind, JobStatus } from "./job-kinds.ts";

export type { JobKind, JobStatus };

export interface JobProgress {
  /** Units of work done (objects, items, parts: `message` says which). */
  readonly done: number;
  readonly total: number | null;
  readonly message: string;
}

export interface JobRecord {
  readonly jobId: string;
  readonly projectId: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  readonly progress: JobProgress;
  readonly result: unknown;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** What the request asked for; the runner's own continuation state between chunks. */
  readonly input: Record<string, unknown>;
  readonly state: Record<string, unknown> | null;
  /** Invocations that ran a part of it. */
  readonly chunks: number;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export async function putNewJob(job: JobRecord): Promise<void> {
  await putNewItem({ ...keys.job(job.jobId), type: "job", ...job });
}

export async function getJob(jobId: string): Promise<JobRecord | undefined> {
  return getRecord(keys.job(jobId), toRecord);
}

/**
 * Takes a job for one chunk of work: QUEUED → RUNNING, or a RUNNING job whose lease ran out (its
 * worker died). Undefined when another delivery holds it or it is final.
 */
export async function claimJob(
  jobId: string,
  token: string,
  now: string,
  leaseUntil: string,
): Promise<JobRecord | undefined> {
  const out = await sendIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.job(jobId),
      UpdateExpression: "SET #s = :running, leaseToken = :t, leaseUntil = :until, updatedAt = :now",
      ConditionExpression: "#s = :queued OR (#s = :running AND leaseUntil < :now)",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: {
        ":running": "RUNNING",
        ":queued": "QUEUED",
        ":t": token,
        ":until": leaseUntil,
        ":now": now,
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  return out?.Attributes ? toRecord(out.Attributes) : undefined;
}

export async function recordProgress(jobId: string, token: string, progress: JobProgress): Promise<void> {
  await writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.job(jobId),
      UpdateExpression: "SET progress = :p, updatedAt = :now",
      ConditionExpression: "leaseToken = :t",
      ExpressionAttributeValues: { ":p": progress, ":now": new Date().toISOString(), ":t": token },
    }),
  );
}

/** RUNNING → QUEUED with the state the next chunk starts from; false when the lease was lost. */
export async function yieldJob(
  jobId: string,
  token: string,
  state: Record<string, unknown>,
  progress: JobProgress,
): Promise<boolean> {
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.job(jobId),
      UpdateExpression:
        "SET #s = :queued, #state = :state, progress = :p, chunks = chunks + :one, updatedAt = :now REMOVE leaseToken, leaseUntil",
      ConditionExpression: "leaseToken = :t",
      ExpressionAttributeNames: { "#s": "status", "#state": "state" },
      ExpressionAttributeValues: {
        ":queued": "QUEUED",
        ":state": state,
        ":p": progress,
        ":one": 1,
        ":now": new Date().toISOString(),
        ":t": token,
      },
    }),
  );
}

export type JobEnd =
  | { readonly status: "SUCCEEDED"; readonly result: unknown; readonly progress: JobProgress }
  | {
      readonly status: "FAILED";
      readonly error: { code: string; message: string };
      /** How far it got, when that moved since the last record. */
      readonly progress?: JobProgress;
    };

/** RUNNING → SUCCEEDED or FAILED; with a token only by the lease's holder. */
export async function finishJob(jobId: string, token: string | undefined, end: JobEnd): Promise<boolean> {
  const values: Record<string, unknown> = {
    ":status": end.status,
    ":now": new Date().toISOString(),
    ":one": 1,
  };
  let set = "#s = :status, updatedAt = :now, chunks = chunks + :one";
  if (end.status === "SUCCEEDED") {
    set += ", #result = :result, progress = :p";
    values[":result"] = end.result;
    values[":p"] = end.progress;
  } else {
    set += ", #error = :error";
    values[":error"] = end.error;
    if (end.progress) {
      set += ", progress = :p";
      values[":p"] = end.progress;
    }
  }
  if (token) values[":t"] = token;
  else {
    values[":succeeded"] = "SUCCEEDED";
    values[":failed"] = "FAILED";
  }
  return writeIfCondition(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.job(jobId),
      UpdateExpression: `SET ${set} REMOVE leaseToken, leaseUntil`,
      ConditionExpression: token
        ? "leaseToken = :t"
        : "attribute_exists(pk) AND NOT #s IN (:succeeded, :failed)",
      ExpressionAttributeNames: {
        "#s": "status",
        ...(end.status === "SUCCEEDED" ? { "#result": "result" } : { "#error": "error" }),
      },
      ExpressionAttributeValues: values,
    }),
  );
}

function toRecord(item: Record<string, unknown>): JobRecord {
  return {
    jobId: item.jobId as string,
    projectId: item.projectId as string,
    kind: item.kind as JobKind,
    status: item.status as JobStatus,
    progress: item.progress as JobProgress,
    result: item.result ?? null,
    error: (item.error as JobRecord["error"]) ?? null,
    input: (item.input as Record<string, unknown>) ?? {},
    state: (item.state as Record<string, unknown> | null) ?? null,
    chunks: (item.chunks as number) ?? 0,
    createdBy: item.createdBy as string,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
