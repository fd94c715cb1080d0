import * as z from "zod";
import { InvalidSchemaError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { isSchemaKey, parseModelSchema } from "./schema-rules.ts";

/**
 * A typed metadata value (DESIGN §1): exactly one of the six fields. `int64_value` is always a
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

export const metadataKeySchema = z
  .string()
  .min(1, "metadata keys must not be empty")
  .max(MAX_KEY_LENGTH, `metadata keys are at most ${MAX_KEY_LENGTH} characters`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]+$/, "metadata keys must not contain control characters");

const int64Input = z.union([z.int(), z.string()]).superRefine((value, ctx) => {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      ctx.addIssue({
        code: "custom",
        message: "int64_value beyond ±2^53 loses precision as a JSON number; send it as a decimal string",
      });
    }
    return;
  }
  if (!/^-?\d{1,19}$/.test(value)) {
    ctx.addIssue({ code: "custom", message: "int64_value must be an integer or a decimal string of one" });
    return;
  }
  const parsed = BigInt(value);
  if (parsed < INT64_MIN || parsed > INT64_MAX) {
    ctx.addIssue({ code: "custom", message: "int64_value is outside the signed 64-bit range" });
  }
});

/** The value object as a request carries it (validation only; see `normalizeMetadataValue`). */
export const metadataValueSchema = z
  .strictObject({
    string_value: z.string().optional(),
    int64_value: int64Input.optional().describe("A JSON integer or a decimal string; returned as a string"),
    double_value: z.number().optional(),
    bool_value: z.boolean().optional(),
    json_value: z.unknown().optional().describe("Any JSON value"),
    timestamp_value: z
      .string()
      .refine((v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)), "timestamp_value must be RFC 3339")
      .optional(),
  })
  .superRefine((value, ctx) => {
    const present = Object.keys(value).filter((k) => (VALUE_FIELDS as readonly string[]).includes(k));
    if (present.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `a metadata value holds exactly one of ${VALUE_FIELDS.join(", ")}; this one has ${present.length === 0 ? "none" : present.join(", ")}`,
      });
    }
  })
  .meta({ id: "MetadataValueInput" });

/** The value object as responses carry it. */
export const metadataValueView = z
  .union([
    z.strictObject({ string_value: z.string() }),
    z.strictObject({ int64_value: z.string().regex(/^-?\d+$/) }),
    z.strictObject({ double_value: z.number() }),
    z.strictObject({ bool_value: z.boolean() }),
    z.strictObject({ json_value: z.unknown() }),
    z.strictObject({ timestamp_value: z.string() }),
  ])
  .meta({ id: "MetadataValue" });

export const metadataSchema = z
  .record(metadataKeySchema, metadataValueSchema)
  .refine(
    (m) => Object.keys(m).length <= MAX_METADATA_KEYS_PER_REQUEST,
    `at most ${MAX_METADATA_KEYS_PER_REQUEST} metadata keys per request`,
  );

/** A PATCH's metadata: a value sets (or replaces) a key, null removes it. */
export const metadataPatchSchema = z
  .record(metadataKeySchema, metadataValueSchema.nullable())
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
