import { InvalidSchemaError } from "#lambdas/shared/errors.ts";

/** The column types a model schema may use (docs/concepts.md), in their canonical spelling. */
export const COLUMN_TYPES = ["Boolean", "Time64", "Float32", "Float64", "Int32", "Int64", "String"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The metadata keys whose json_value is a model schema. */
export const SCHEMA_KEYS = ["input_schema", "output_schema"] as const;
export type SchemaKey = (typeof SCHEMA_KEYS)[number];

/**
 * The most columns a schema may have: far above any tabular model, and low enough that a schema
 * fits the experiment's 400 KB item and a scorer's sample request stays small.
 */
export const MAX_SCHEMA_COLUMNS = 5000;

export interface SchemaColumn {
  readonly name: string;
  readonly type: ColumnType;
}

const CANONICAL_TYPE = new Map<string, ColumnType>(COLUMN_TYPES.map((type) => [type.toLowerCase(), type]));

export const isSchemaKey = (key: string): key is SchemaKey =>
  (SCHEMA_KEYS as readonly string[]).includes(key);

/**
 * Checks a model schema against the rules of docs/concepts.md and returns it with canonical type names
 * (types are matched case-insensitively). Throws InvalidSchemaError naming the first offending entry
 * by index and name, so the message tells the caller exactly what to fix.
 */
export function parseModelSchema(key: SchemaKey, value: unknown): SchemaColumn[] {
  const expected = `a list of {"name": "<column>", "type": "<one of ${COLUMN_TYPES.join(", ")}>"}`;
  if (!Array.isArray(value)) {
    throw new InvalidSchemaError(`${key} must be ${expected}; got ${describe(value)}.`, [
      { path: key, message: "not a list" },
    ]);
  }
  if (value.length === 0) {
    throw new InvalidSchemaError(`${key} must list at least one column; it is empty.`, [
      { path: key, message: "empty list" },
    ]);
  }
  if (value.length > MAX_SCHEMA_COLUMNS) {
    throw new InvalidSchemaError(
      `${key} lists ${value.length} columns; at most ${MAX_SCHEMA_COLUMNS} are supported for tabular deployment.`,
      [{ path: key, message: "too many columns" }],
    );
  }
  const seen = new Map<string, number>();
  return value.map((entry: unknown, index) => {
    const where = `${key}[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new InvalidSchemaError(`${where} must be an object {"name", "type"}; got ${describe(entry)}.`, [
        { path: where, index, message: "not an object" },
      ]);
    }
    const { name, type, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (typeof name !== "string" || typeof type !== "string" || extra.length > 0) {
      const problem =
        extra.length > 0
          ? `has unexpected field(s) ${extra.map((f) => `'${f}'`).join(", ")}`
          : typeof name !== "string"
            ? "needs a string 'name'"
            : "needs a string 'type'";
      throw new InvalidSchemaError(`${where}${typeof name === "string" ? ` ('${name}')` : ""} ${problem}.`, [
        { path: where, index, ...(typeof name === "string" ? { name } : {}), message: problem },
      ]);
    }
    if (name.trim() === "") {
      throw new InvalidSchemaError(`${where} has an empty name; every column needs a name.`, [
        { path: where, index, name, message: "empty name" },
      ]);
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new InvalidSchemaError(
        `${where} repeats the column name '${name}' of ${key}[${first}]; column names must be unique.`,
        [{ path: where, index, name, message: "duplicate name" }],
      );
    }
    seen.set(name, index);
    const canonical = CANONICAL_TYPE.get(type.toLowerCase());
    if (!canonical) {
      throw new InvalidSchemaError(
        `${where} ('${name}') has the unknown type '${type}'. Use one of ${COLUMN_TYPES.join(", ")}.`,
        [{ path: where, index, name, message: "unknown type" }],
      );
    }
    return { name, type: canonical };
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
