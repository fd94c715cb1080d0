import { InvalidCursorError } from "./errors.ts";

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

type Key = Record<string, string | number>;

/** Cursors are the DynamoDB LastEvaluatedKey, base64url-encoded. */
export function encodeCursor(lastKey: Key | undefined): string | null {
  if (!lastKey) return null;
  return Buffer.from(JSON.stringify(lastKey), "utf8").toString("base64url");
}

/**
 * Decodes a cursor and checks it belongs to the list being read (same partition attribute value),
 * so a cursor from one list can never start a query somewhere else.
 */
export function decodeCursor(
  cursor: string | undefined,
  partitionAttribute: string,
  partitionValue: string,
): Key | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    typeof decoded !== "object" ||
    decoded === null ||
    Array.isArray(decoded) ||
    (decoded as Key)[partitionAttribute] !== partitionValue ||
    !Object.values(decoded).every((v) => typeof v === "string" || typeof v === "number")
  ) {
    throw new InvalidCursorError();
  }
  return decoded as Key;
}
