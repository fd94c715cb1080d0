import * as z from "zod";
import { InvalidSchemaError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { exactlyOneOf } from "#lambdas/shared/http/schemas.ts";
import { isSchemaKey, parseModelSchema } from "./schema-rules.ts";

/**
 * A typed metadata value (docs/data-model.md): exactly one of the six fields. `int64_value` is always a
 * decimal string once stored, so 64-bit integers survive JSON clients that parse numbers as doubles.
 */
export type MetadataValue =
  | { readonly string_value: string }
  | { readonly int64_value: string }
  | { readonly double_value: number }
  | { readonly bool_value: boolean }
  | { readonly json_value: unknown }
  | { readonly timestamp_value: string };

export type Metadata = Record<string, MetadataValue>;

const VALUE_FIELDS = [
  "string_value",
  "int64_value",
  "double_value",
  "bool_value",
  "json_value",
  "timestamp_value",
] as const;

/** Keys per request: one DynamoDB update expression must stay under its 4 KB limit. */
export const MAX_METADATA_KEYS_PER_REQUEST = 100;
const MAX_KEY_LENGTH = 256;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const KEY_CHARACTERS = /^[^\u0000-\u001f\u007f]+$/;

export const metadataKeySchema = z
  .string()
  .min(1, "metadata keys must not be empty")
  .refine((k) => [...k].length <= MAX_KEY_LENGTH, `metadata keys are at most ${MAX_KEY_LENGTH} characters`)
  .regex(KEY_CHARACTERS, "metadata keys must not contain control characters");

/** The key rules as JSON Schema (a record's keys are `propertyNames`; lengths count code points). */
const KEYS_IN_DOCUMENT = {
  propertyNames: { minLength: 1, maxLength: MAX_KEY_LENGTH, pattern: KEY_CHARACTERS.source },
  maxProperties: MAX_METADATA_KEYS_PER_REQUEST,
};

/**
 * Decimal strings not above `max`, as a regular expression: the document's pattern is then exactly
 * the range the API accepts. `[0-9]`, not `\\d`: Python's `\\d` (a fuzzer's) matches any Unicode digit.
 */
function decimalsUpTo(max: bigint): string {
  const digits = max.toString();
  const options = [`[0-9]{1,${digits.length - 1}}`];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    const rest = digits.length - i - 1;
    if (d > 0) options.push(`${digits.slice(0, i)}[0-${d - 1}]${rest > 0 ? `[0-9]{${rest}}` : ""}`);
  }
  options.push(digits);
  return options.join("|");
}

const INT64_PATTERN = new RegExp(`^(${decimalsUpTo(INT64_MAX)}|-(${decimalsUpTo(-INT64_MIN)}))$`);

const int64Input = z.union([
  z
    .int("int64_value beyond ±2^53 loses precision as a JSON number; send it as a decimal string")
    .min(-Number.MAX_SAFE_INTEGER)
    .max(Number.MAX_SAFE_INTEGER),
  z.string().regex(INT64_PATTERN, "int64_value must be a decimal string within the signed 64-bit range"),
]);

/** Timestamps are RFC 3339 date-times (JSON Schema `format: date-time`) that name a real instant. */
export const rfc3339Timestamp = (field: string) =>
  z
    .string()
    .refine((v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)), `${field} must be an RFC 3339 date-time`)
    .meta({ format: "date-time" });

/** One present field, and nothing else: that is what `oneOf` of these options says in the document. */
const VALUE_OPTIONS = {
  string_value: z.string(),
  int64_value: int64Input.describe("A JSON integer or a decimal string; returned as a string"),
  double_value: z.number(),
  bool_value: z.boolean(),
  // Required like the others: a JSON null is a value, a missing key is not.
  json_value: z
    .unknown()
    .refine((v) => v !== undefined, { message: "json_value is missing", abort: true })
    .describe("Any JSON value"),
  timestamp_value: rfc3339Timestamp("timestamp_value"),
} as const;

/**
 * The value object as a request carries it (validation only; see `normalizeMetadataValue`). A
 * union of six one-key objects is "exactly one of" by construction; the error says which rule broke
 * instead of the union's generic message.
 */
export const metadataValueSchema = exactlyOneOf(
  z.union(
    VALUE_FIELDS.map((field) => z.strictObject({ [field]: VALUE_OPTIONS[field] })) as unknown as [
      z.ZodObject,
      z.ZodObject,
    ],
    { error: (issue) => metadataValueMessage(issue.input) },
  ),
  "MetadataValueInput",
) as unknown as z.ZodType<
  Partial<{
    string_value: string;
    int64_value: number | string;
    double_value: number;
    bool_value: boolean;
    json_value: unknown;
    timestamp_value: string;
  }>
>;

function metadataValueMessage(input: unknown): string {
  const exactly = `a metadata value holds exactly one of ${VALUE_FIELDS.join(", ")}`;
  if (typeof input !== "object" || input === null || Array.isArray(input)) return `${exactly}, as an object`;
  const keys = Object.keys(input);
  const unknown = keys.filter((k) => !(VALUE_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) return `${exactly}; '${unknown.join("', '")}' is not one of them`;
  if (keys.length !== 1) return `${exactly}; this one has ${keys.length === 0 ? "none" : keys.join(", ")}`;
  const field = keys[0] as (typeof VALUE_FIELDS)[number];
  const result = VALUE_OPTIONS[field].safeParse((input as Record<string, unknown>)[field]);
  const issue = result.error?.issues[0];
  return issue?.code === "custom" ? issue.message : `${field}: ${issue?.message ?? "invalid"}`;
}

/** The value object as responses carry it. */
export const metadataValueView = exactlyOneOf(
  z.union([
    z.strictObject({ string_value: z.string() }),
    z.strictObject({ int64_value: z.string().regex(/^-?[0-9]+$/) }),
    z.strictObject({ double_value: z.number() }),
    z.strictObject({ bool_value: z.boolean() }),
    z.strictObject({ json_value: z.unknown() }),
    z.strictObject({ timestamp_value: z.string().meta({ format: "date-time" }) }),
  ]),
  "MetadataValue",
);

export const metadataSchema = z
  .record(metadataKeySchema, metadataValueSchema)
  .meta(KEYS_IN_DOCUMENT)
  .refine(
    (m) => Object.keys(m).length <= MAX_METADATA_KEYS_PER_REQUEST,
    `at most ${MAX_METADATA_KEYS_PER_REQUEST} metadata keys per request`,
  );

/** A PATCH's metadata: a value sets (or replaces) a key, null removes it. */
export const metadataPatchSchema = z
  .record(metadataKeySchema, metadataValueSchema.nullable())
  .meta(KEYS_IN_DOCUMENT)
  .refine(
    (m) => Object.keys(m).length <= MAX_METADATA_KEYS_PER_REQUEST,
    `at most ${MAX_METADATA_KEYS_PER_REQUEST} metadata keys per request`,
  );

export interface MetadataChanges {
  readonly set: Record<string, MetadataValue>;
  readonly remove: string[];
}

/**
 * Validates a metadata patch (`{key: value-object or null}`) and applies the schema rules: values
 * are normalised (int64 to a decimal string), `input_schema`/`output_schema` must be a json_value
 * holding a valid model schema and are stored with canonical type names. Throws
 * ValidationFailedError or InvalidSchemaError; nothing has been written when it throws.
 */
export function validateMetadataPatch(patch: unknown): MetadataChanges {
  const parsed = metadataPatchSchema.safeParse(patch);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: ["metadata", ...issue.path.map(String)].join("."),
      message: issue.message,
    }));
    throw new ValidationFailedError(
      `The metadata is invalid: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}.`,
      details,
    );
  }
  const set: Record<string, MetadataValue> = {};
  const remove: string[] = [];
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value === null) {
      remove.push(key);
      continue;
    }
    set[key] = applySchemaRules(key, normalizeMetadataValue(value));
  }
  return { set, remove };
}

/** Turns a validated value object into its stored form. */
export function normalizeMetadataValue(value: z.output<typeof metadataValueSchema>): MetadataValue {
  if (value.int64_value !== undefined) return { int64_value: BigInt(value.int64_value).toString() };
  if (value.string_value !== undefined) return { string_value: value.string_value };
  if (value.double_value !== undefined) return { double_value: value.double_value };
  if (value.bool_value !== undefined) return { bool_value: value.bool_value };
  if (value.timestamp_value !== undefined) return { timestamp_value: value.timestamp_value };
  return { json_value: value.json_value ?? null };
}

function applySchemaRules(key: string, value: MetadataValue): MetadataValue {
  if (!isSchemaKey(key)) return value;
  if (!("json_value" in value)) {
    const given = Object.keys(value)[0];
    throw new InvalidSchemaError(
      `${key} must be given as a json_value holding a list of {"name", "type"}; got ${given}.`,
      [{ path: key, message: `expected json_value, got ${given}` }],
    );
  }
  return { json_value: parseModelSchema(key, value.json_value) };
}
