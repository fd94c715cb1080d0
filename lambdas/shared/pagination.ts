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
  shape?: CursorShape,
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
  if (shape && !fitsShape(decoded as Key, shape)) throw new InvalidCursorError();
  return decoded as Key;
}

/**
 * What a list's LastEvaluatedKey looks like: exactly these attributes, strings, the sort key under
 * the list's prefix. DynamoDB answers a start key of another shape with a ValidationException, so
 * a forged cursor is refused here as a 400 instead.
 */
export interface CursorShape {
  readonly attributes: readonly string[];
  readonly sortKey?: { readonly attribute: string; readonly prefix: string };
}

function fitsShape(key: Key, shape: CursorShape): boolean {
  const names = Object.keys(key);
  if (
    names.length !== shape.attributes.length ||
    !shape.attributes.every((a) => typeof key[a] === "string")
  ) {
    return false;
  }
  if (!shape.sortKey) return true;
  const sortValue = key[shape.sortKey.attribute];
  return typeof sortValue === "string" && sortValue.startsWith(shape.sortKey.prefix);
}

/** The cursor shape of a Query on the table's pk with begins_with(sk, prefix). */
export const tableCursor = (skPrefix: string): CursorShape => ({
  attributes: ["pk", "sk"],
  sortKey: { attribute: "sk", prefix: skPrefix },
});
