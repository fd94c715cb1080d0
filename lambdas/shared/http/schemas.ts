import * as z from "zod";

/** Building blocks shared by every route's schemas. */

export const listQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1, "limit must be between 1 and 100")
    .max(100, "limit must be between 1 and 100")
    .default(20),
  cursor: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe("The nextCursor of the previous page, unchanged; any other value is a 400 INVALID_CURSOR"),
});

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Identifiers issued by Byom: a prefix, a dash and 26 lower-case base32 characters. */
export const idParam = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}-[0-9a-z]{26}$`), `must be an id of the form ${prefix}-<26 characters>`);

export const errorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.unknown()),
    }),
  })
  .meta({ id: "Error" });

/** The error responses every authenticated route can give. */
export const standardErrors = {
  400: { description: "Bad input: the message says what to fix", schema: errorBody },
  401: { description: "No caller identity", schema: errorBody },
  403: { description: "The caller's role in the project does not allow this", schema: errorBody },
  404: { description: "Not found, or not a member of its project", schema: errorBody },
} as const;

export const conflictError = { 409: { description: "Conflicts with the current state", schema: errorBody } };

/** An instant as Byom writes it (ISO 8601 in UTC, an RFC 3339 date-time). */
export const instant = () => z.string().meta({ format: "date-time" });

export const timestamps = {
  createdAt: instant(),
  updatedAt: instant(),
};

/**
 * What JavaScript's `trim()` and `\s` treat as white space, spelled out: a fuzzer reading the
 * document's pattern with another regex engine (Python's counts U+001C-U+001F as space, not U+FEFF)
 * then agrees with the API on what is blank.
 */
const WHITE_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";

/**
 * A free-text field. Lengths count code points, as JSON Schema's minLength/maxLength do (a string's
 * `.length` counts UTF-16 units: an emoji is 2), and are checked on the text as sent, before any
 * trimming, so the document's limits are exactly the API's. `notBlank` requires a character that is
 * not white space; `trim` stores the text without surrounding white space.
 */
export function text(
  field: string,
  options: {
    readonly max: number;
    readonly min?: number;
    readonly notBlank?: boolean;
    readonly trim?: boolean;
  },
) {
  const { max, min, notBlank = false, trim = false } = options;
  let schema = z
    .string()
    .refine((v) => [...v].length <= max, `${field} is at most ${max} characters`)
    .meta({ maxLength: max, ...(min === undefined ? {} : { minLength: min }) });
  if (min !== undefined) {
    schema = schema.refine((v) => [...v].length >= min, `${field} needs at least ${min} characters`);
  }
  if (notBlank) schema = schema.regex(new RegExp(`[^${WHITE_SPACE}]`), `${field} must not be empty`);
  return trim ? schema.trim() : schema;
}

/**
 * Names a union whose options exclude each other and documents it as `oneOf` ("exactly one"), not
 * the generator's default `anyOf`.
 */
export function exactlyOneOf<T extends z.ZodType>(union: T, id: string): T {
  return union.meta({ _internal: { refId: id, unionPreferredType: "oneOf" } } as never);
}
