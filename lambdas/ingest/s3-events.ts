import { decodeEventKey } from "#lambdas/shared/object-keys.ts";

/** One ObjectCreated notification, decoded. */
export interface ObjectEvent {
  readonly eventName: string;
  readonly bucket: string;
  /** The object key as stored (decoded from the notification's URL encoding). */
  readonly key: string;
  readonly size: number;
  /** Without quotes; empty when the notification carries none. */
  readonly etag: string;
  readonly versionId: string | undefined;
  readonly principalId: string | undefined;
}

/**
 * The ObjectCreated records of an SQS message body holding an S3 event notification. S3's test
 * event (sent when a notification is configured) and other event types yield nothing; a body that
 * is not a notification at all throws, so the message ends in the dead-letter queue for a person.
 */
export function objectEventsOf(body: string): ObjectEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`message body is not JSON: ${body.slice(0, 200)}`);
  }
  const notification = parsed as { Event?: string; Records?: unknown };
  if (notification.Event === "s3:TestEvent") return [];
  if (!Array.isArray(notification.Records)) {
    throw new Error(`message body is not an S3 event notification: ${body.slice(0, 200)}`);
  }
  const events: ObjectEvent[] = [];
  for (const record of notification.Records as S3Record[]) {
    if (record.eventSource !== "aws:s3" || !record.eventName?.startsWith("ObjectCreated:")) continue;
    const object = record.s3?.object;
    if (!object?.key || !record.s3?.bucket?.name) throw new Error("S3 record without bucket or key");
    events.push({
      eventName: record.eventName,
      bucket: record.s3.bucket.name,
      key: decodeEventKey(object.key),
      size: object.size ?? 0,
      etag: (object.eTag ?? "").replace(/"/g, ""),
      versionId: object.versionId || undefined,
      principalId: record.userIdentity?.principalId,
    });
  }
  return events;
}

interface S3Record {
  readonly eventSource?: string;
  readonly eventName?: string;
  readonly userIdentity?: { readonly principalId?: string };
  readonly s3?: {
    readonly bucket?: { readonly name?: string };
    readonly object?: {
      readonly key?: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly versionId?: string;
    };
  };
}
