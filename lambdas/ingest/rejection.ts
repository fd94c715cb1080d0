/**
 * Ingestion found the artifact unusable: the artifact becomes FAILED with this message as its
 * failureReason, so the message says what is wrong and what to do. (Not a DomainError: it never
 * reaches an HTTP response.)
 */
export class ArtifactRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactRejectedError";
  }
}
