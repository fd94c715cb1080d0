/**
 * What can go wrong when talking to Byom, in the terms a command line needs: whether the person
 * called it wrong (usage), or the call failed (the server said no, the file is missing, the network
 * is down). The CLI maps these to exit codes in one place (`cli/main.ts`).
 */

/** The registry answered with its error shape (docs/registry-api.md); the message is shown as it is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly unknown[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Something the person can fix: a missing file, an unreachable API, a failed ingestion. */
export class ClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientError";
  }
}

/** The command line itself was wrong: unknown command or option, missing argument. Exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at, e.g. `projects create`. */
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}
