/**
 * Domain errors. They carry a stable code and a message that says what was wrong and how to fix
 * it; they know nothing of HTTP. `http/error-response.ts` is the one place that maps them to status
 * codes.
 */
export interface ErrorDetail {
  readonly path?: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  readonly details: readonly ErrorDetail[];

  constructor(message: string, details: readonly ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The request is malformed: wrong types, missing fields, unknown values. */
export class ValidationFailedError extends DomainError {
  readonly code = "VALIDATION_FAILED";
}

/** An input_schema/output_schema value breaks the schema rules of docs/concepts.md. */
export class InvalidSchemaError extends DomainError {
  readonly code = "INVALID_SCHEMA";
}

/** A pagination cursor that this API did not issue for this list. */
export class InvalidCursorError extends DomainError {
  readonly code = "INVALID_CURSOR";
  constructor() {
    super("The cursor is not valid for this list. Pass the nextCursor value of the previous page unchanged.");
  }
}

export class NotFoundError extends DomainError {
  readonly code = "NOT_FOUND";
  constructor(kind: string, id: string, hint = "") {
    super(`${kind} '${id}' does not exist or you are not a member of its project.${hint ? ` ${hint}` : ""}`);
  }
}

export class ConflictError extends DomainError {
  readonly code: string = "CONFLICT";
}

export class UnauthenticatedError extends DomainError {
  readonly code = "UNAUTHENTICATED";
}

export class ForbiddenError extends DomainError {
  readonly code = "FORBIDDEN";
}

export class PayloadTooLargeError extends DomainError {
  readonly code = "PAYLOAD_TOO_LARGE";
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly code = "UNSUPPORTED_MEDIA_TYPE";
}

/** A dependency outside Byom (an MLflow server, say) failed or answered something unusable. */
export class UpstreamError extends DomainError {
  readonly code = "UPSTREAM_FAILED";
}
