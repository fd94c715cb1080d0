import * as z from "zod";

/** Building blocks shared by every route's schemas. */

export const listQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1, "limit must be between 1 and 100")
    .max(100, "limit must be between 1 and 100")
    .default(20),
  cursor: z.string().min(1).max(2048).optional(),
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

export const timestamps = {
  createdAt: z.string(),
  updatedAt: z.string(),
};
