import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { ClientError } from "./errors.ts";

/**
 * Sends a file's bytes straight to S3 through the presigned URLs the registry hands out (bytes
 * never pass through the API): one PUT for small files, or the parts of a multipart upload in
 * parallel. A multipart upload is resumable: the ETag of every finished part is written to a state
 * file as soon as S3 answers, because presigned clients cannot call ListParts to ask S3 later.
 */

export interface SinglePutPlan {
  readonly method: "PUT";
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface MultipartPlan {
  readonly multipart: {
    readonly uploadId: string;
    readonly partSizeBytes: number;
    readonly parts: readonly { readonly partNumber: number; readonly url: string }[];
  };
}

export type UploadPlan = SinglePutPlan | MultipartPlan;

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** Called with the bytes sent since the last call (negative when a failed attempt is undone). */
export type UploadProgress = (deltaBytes: number) => void;

export interface MultipartOptions {
  readonly concurrency: number;
  readonly onProgress: UploadProgress;
  /** Parts already uploaded (from a resumed state); they are not sent again. */
  readonly done: readonly CompletedPart[];
  /** Called after every part S3 accepted, before the next one starts: persist it. */
  readonly onPartDone: (part: CompletedPart) => void;
  /** Stop (throw) once this many parts finished in this run: how tests interrupt an upload. */
  readonly stopAfterParts?: number | undefined;
}

const MAX_ATTEMPTS = 4;

export async function putSingle(
  file: string,
  size: number,
  plan: SinglePutPlan,
  onProgress: UploadProgress,
): Promise<void> {
  await withRetries(`upload of ${file}`, onProgress, (counted) =>
    putRange(plan.url, file, 0, size, plan.headers ?? {}, counted),
  );
}

/** Uploads the parts not in `done`, `concurrency` at a time; returns every part's ETag in order. */
export async function putMultipart(
  file: string,
  size: number,
  plan: MultipartPlan,
  options: MultipartOptions,
): Promise<CompletedPart[]> {
  const { partSizeBytes, parts } = plan.multipart;
  const expectedParts = Math.max(1, Math.ceil(size / partSizeBytes));
  if (parts.length !== expectedParts) {
    throw new ClientError(
      `The server planned ${parts.length} parts of ${partSizeBytes} bytes for a ${size}-byte file (expected ${expectedParts}). Was the file changed after the upload started?`,
    );
  }
  const finished = new Map(options.done.map((part) => [part.partNumber, part.etag]));
  const todo = parts.filter((part) => !finished.has(part.partNumber));
  let finishedThisRun = 0;
  let stopped = false;
  let next = 0;

  const worker = async () => {
    for (;;) {
      if (stopped) return;
      const part = todo[next++];
      if (!part) return;
      const start = (part.partNumber - 1) * partSizeBytes;
      const length = Math.min(partSizeBytes, size - start);
      const etag = await withRetries(`part ${part.partNumber} of ${file}`, options.onProgress, (counted) =>
        putRange(part.url, file, start, length, {}, counted),
      );
      finished.set(part.partNumber, etag);
      options.onPartDone({ partNumber: part.partNumber, etag });
      finishedThisRun++;
      if (options.stopAfterParts !== undefined && finishedThisRun >= options.stopAfterParts) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, todo.length)) }, worker));
  if (stopped && finished.size < parts.length) {
    throw new UploadInterruptedError(finished.size, parts.length);
  }
  return parts.map((part) => ({
    partNumber: part.partNumber,
    etag: finished.get(part.partNumber) as string,
  }));
}

export class UploadInterruptedError extends ClientError {
  constructor(
    readonly partsDone: number,
    readonly partsTotal: number,
  ) {
    super(
      `Upload stopped after ${partsDone} of ${partsTotal} parts (BYOM_CLI_STOP_AFTER_PARTS). Run the same command again to resume it.`,
    );
    this.name = "UploadInterruptedError";
  }
}

/** Retries transient failures (network errors, 5xx, 429) with backoff, undoing their progress. */
async function withRetries<T>(
  what: string,
  onProgress: UploadProgress,
  attempt: (counted: UploadProgress) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    let sent = 0;
    try {
      return await attempt((delta) => {
        sent += delta;
        onProgress(delta);
      });
    } catch (error) {
      onProgress(-sent);
      const transient = !(error instanceof S3RejectedError) || error.status >= 500 || error.status === 429;
      if (!transient || n >= MAX_ATTEMPTS) {
        throw error instanceof ClientError
          ? error
          : new ClientError(`The ${what} failed after ${n} attempts: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** n));
    }
  }
}

class S3RejectedError extends ClientError {
  constructor(
    readonly status: number,
    body: string,
  ) {
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    const message = /<Message>([^<]+)<\/Message>/.exec(body)?.[1];
    const hint =
      code === "AccessDenied" || code === "SignatureDoesNotMatch" || code === "ExpiredToken" || status === 403
        ? " The presigned URL may have expired: run the same command again to resume with fresh URLs."
        : "";
    super(`S3 answered ${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}.${hint}`);
    this.name = "S3RejectedError";
  }
}

/** PUTs `length` bytes of `file` from `start` to a presigned URL, streaming; resolves to the ETag. */
function putRange(
  url: string,
  file: string,
  start: number,
  length: number,
  headers: Readonly<Record<string, string>>,
  onProgress: UploadProgress,
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(
      target,
      { method: "PUT", headers: { ...headers, "content-length": String(length) } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(new S3RejectedError(status, body));
          const etag = res.headers.etag;
          if (!etag) return reject(new ClientError("S3 accepted a part but sent no ETag header."));
          resolvePromise(etag);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (length === 0) {
      req.end();
      return;
    }
    const stream = createReadStream(file, { start, end: start + length - 1, highWaterMark: 256 * 1024 });
    stream.on("data", (chunk) => onProgress(chunk.length));
    stream.on("error", (error) => {
      req.destroy(error);
      reject(new ClientError(`Cannot read ${file}: ${error.message}`));
    });
    stream.pipe(req);
  });
}

/** What a resumable upload remembers between runs. */
export interface UploadState {
  readonly version: 1;
  readonly file: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly projectId: string;
  readonly experimentId: string;
  readonly artifactId: string;
  readonly plan: UploadPlan;
  readonly done: CompletedPart[];
  readonly startedAt: string;
}

/** `<home>/uploads/<hash>.json`, one per (API, project, target, file identity). */
export class UploadStateStore {
  readonly path: string;

  constructor(home: string, identity: readonly (string | number)[]) {
    const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 24);
    this.path = join(home, "uploads", `${hash}.json`);
  }

  load(): UploadState | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      const state = JSON.parse(readFileSync(this.path, "utf8")) as UploadState;
      return state.version === 1 ? state : undefined;
    } catch {
      return undefined;
    }
  }

  /** Atomic (write then rename), so a kill mid-write never leaves a torn state file. */
  save(state: UploadState): void {
    mkdirSync(join(this.path, ".."), { recursive: true, mode: 0o700 });
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, this.path);
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
