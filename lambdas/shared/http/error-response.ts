import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidCursorError,
  InvalidSchemaError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  UpstreamError,
  ValidationFailedError,
} from "../errors.ts";
import { logger } from "../logger.ts";

/** The one table from domain errors to HTTP status codes. */
const STATUS_BY_ERROR: ReadonlyArray<readonly [abstract new (...args: never[]) => DomainError, number]> = [
  [ValidationFailedError, 400],
  [InvalidSchemaError, 400],
  [InvalidCursorError, 400],
  [UnauthenticatedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UpstreamError, 502],
];

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details: readonly unknown[] };
}

export interface JsonResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const JSON_HEADERS = { "content-type": "application/json" } as const;

export function errorResponse(error: unknown): JsonResponse {
  if (error instanceof DomainError) {
    const status = STATUS_BY_ERROR.find(([type]) => error instanceof type)?.[1] ?? 400;
    const body: ErrorBody = { error: { code: error.code, message: error.message, details: error.details } };
    return { statusCode: status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
  }
  // A fault: log it whole, tell the caller only that it happened.
  logger.error("unhandled error", { error: error instanceof Error ? error : String(error) });
  const body: ErrorBody = {
    error: {
      code: "INTERNAL",
      message: "Byom failed to handle this request. It was logged; retry, and report it if it persists.",
      details: [],
    },
  };
  return { statusCode: 500, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}
