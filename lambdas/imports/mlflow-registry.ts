import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import { NotFoundError, UpstreamError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import type { PinnedHost } from "./pinned-host.ts";

/**
 * A small client of an MLflow tracking server's REST API: the Model Registry
 * (`/api/2.0/mlflow/model-versions/...`) and the artifact proxy (`/api/2.0/mlflow-artifacts/...`,
 * which serves `mlflow-artifacts:` URIs when the server runs with --serve-artifacts, its default).
 */
const CALL_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 14 * 60_000;
/** The registry's JSON answers are small; a larger one is refused, not read. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** An answer of the tracking server: its status, and its body read once. */
interface Answer {
  readonly status: number;
  readonly stream: IncomingMessage;
}

export class MlflowModelVersionNotFoundError extends NotFoundError {
  constructor(trackingUri: string, modelName: string, version: string) {
    super(
      "MLflow model version",
      `${modelName}/${version}`,
      `The MLflow Model Registry at ${trackingUri} has no model '${modelName}' with version ${version}. Check the name and version in the MLflow UI (Models tab).`,
    );
  }
}

export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly status: string;
  readonly runId: string | null;
  readonly source: string | null;
}

export interface ArtifactFile {
  /** Relative to the model's artifact root, '/'-separated. */
  readonly path: string;
  readonly sizeBytes: number;
}

export class MlflowRegistry {
  private readonly base: URL;

  /** Every connection goes to `pinned.address` (docs/ingestion.md), whatever DNS says later. */
  constructor(
    readonly trackingUri: string,
    private readonly pinned: PinnedHost,
  ) {
    this.base = new URL(trackingUri.replace(/\/+$/, ""));
  }

  async modelVersion(name: string, version: string): Promise<ModelVersion> {
    const query = new URLSearchParams({ name, version });
    const response = await this.call(`/api/2.0/mlflow/model-versions/get?${query}`);
    const body = await this.json<{ model_version?: Record<string, unknown> }>(
      response,
      "model-versions/get",
      () => new MlflowModelVersionNotFoundError(this.trackingUri, name, version),
    );
    const mv = body.model_version;
    if (!mv) throw this.unusable("model-versions/get", "no model_version in the answer");
    return {
      name: String(mv.name ?? name),
      version: String(mv.version ?? version),
      status: String(mv.status ?? "READY"),
      runId: typeof mv.run_id === "string" && mv.run_id ? mv.run_id : null,
      source: typeof mv.source === "string" ? mv.source : null,
    };
  }

  /** The model version's artifact location: a path under the server's artifact proxy. */
  async downloadPath(name: string, version: string): Promise<string> {
    const query = new URLSearchParams({ name, version });
    const response = await this.call(`/api/2.0/mlflow/model-versions/get-download-uri?${query}`);
    const body = await this.json<{ artifact_uri?: string }>(
      response,
      "get-download-uri",
      () => new MlflowModelVersionNotFoundError(this.trackingUri, name, version),
    );
    const uri = body.artifact_uri;
    if (!uri) throw this.unusable("get-download-uri", "no artifact_uri in the answer");
    // mlflow-artifacts:/<path> or mlflow-artifacts://<host>/<path>: both served by this server.
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
    if (!match) {
      throw new UpstreamError(
        `Model '${name}' version ${version} is not stored behind the tracking server's artifact proxy, which the tracking server at ${this.trackingUri} does not serve. Byom imports through the server's artifact proxy: run it with --serve-artifacts (mlflow-artifacts: URIs), the default of 'mlflow server'.`,
      );
    }
    return match[1] as string;
  }

  /** Every file under `root`, depth-first, bounded by `maxFiles`. */
  async listFiles(root: string, maxFiles: number): Promise<ArtifactFile[]> {
    const files: ArtifactFile[] = [];
    const walk = async (relative: string, depth: number): Promise<void> => {
      if (depth > 20)
        throw this.unusable("mlflow-artifacts list", `folders nested deeper than 20 under ${root}`);
      const path = relative ? `${root}/${relative}` : root;
      const response = await this.call(
        `/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path })}`,
      );
      const body = await this.json<{
        files?: Array<{ path?: string; is_dir?: boolean; file_size?: number }>;
      }>(response, "mlflow-artifacts list");
      for (const entry of body.files ?? []) {
        const name = String(entry.path ?? "")
          .split("/")
          .pop() as string;
        if (!name || name === "." || name === "..") {
          throw this.unusable("mlflow-artifacts list", "an entry without a usable name");
        }
        const child = relative ? `${relative}/${name}` : name;
        if (entry.is_dir) await walk(child, depth + 1);
        else files.push({ path: child, sizeBytes: Number(entry.file_size ?? 0) });
        if (files.length > maxFiles) {
          throw new ValidationFailedError(
            `The model's artifacts hold more than ${maxFiles} files; Byom imports one MLflow model directory. Check that the version points at a model, not a whole run.`,
          );
        }
      }
    };
    await walk("", 0);
    return files;
  }

  /** Streams one artifact file: at most `sizeBytes`, the size the server listed for it. */
  async download(root: string, file: string, sizeBytes: number): Promise<AsyncIterable<Uint8Array>> {
    const path = `${root}/${file}`.split("/").map(encodeURIComponent).join("/");
    const response = await this.call(`/api/2.0/mlflow-artifacts/artifacts/${path}`, DOWNLOAD_TIMEOUT_MS);
    if (response.status !== 200) {
      response.stream.resume();
      throw this.unusable(`download of ${file}`, `HTTP ${response.status}`);
    }
    const unusable = () => this.unusable(`download of ${file}`, `more than the ${sizeBytes} bytes it listed`);
    return (async function* capped() {
      let received = 0;
      for await (const chunk of response.stream as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > sizeBytes) {
          response.stream.destroy();
          throw unusable();
        }
        yield chunk;
      }
    })();
  }

  private call(pathAndQuery: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Answer> {
    const basePath = this.base.pathname.replace(/\/+$/, "");
    const pinned = this.pinned;
    // The connection goes to the checked address; TLS still verifies the certificate for the name.
    const pinnedLookup: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
          { address: pinned.address, family: pinned.family },
        ]);
      } else callback(null, pinned.address, pinned.family);
    };
    const request = this.base.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port || undefined,
          path: `${basePath}${pathAndQuery}`,
          method: "GET",
          headers: { accept: "application/json" },
          lookup: pinnedLookup,
          timeout: timeoutMs,
        },
        (stream) => resolve({ status: stream.statusCode ?? 0, stream }),
      );
      req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
      req.on("error", (error: NodeJS.ErrnoException) => {
        const why = error.code ?? error.message;
        reject(
          new UpstreamError(
            `The MLflow tracking server at ${this.trackingUri} is unreachable (${why}). Check trackingUri and that the server is running and reachable from Byom.`,
            [{ message: why, trackingUri: this.trackingUri }],
          ),
        );
      });
      req.end();
    });
  }

  /**
   * The answer as JSON, read up to MAX_JSON_BYTES. The server's own words never reach the caller:
   * an import must not become a way to read other servers' answers through Byom.
   */
  private async json<T>(response: Answer, what: string, notFound?: () => Error): Promise<T> {
    if (response.status === 401 || response.status === 403) {
      response.stream.resume();
      throw new UpstreamError(
        `The MLflow tracking server at ${this.trackingUri} refused ${what} with HTTP ${response.status}. Byom imports from servers that allow anonymous reads.`,
      );
    }
    const text = await readCapped(response.stream, MAX_JSON_BYTES);
    if (text === undefined) throw this.unusable(what, `an answer over ${MAX_JSON_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw this.unusable(what, `HTTP ${response.status}, not JSON`);
    }
    if (
      response.status === 404 &&
      notFound &&
      (parsed as { error_code?: unknown })?.error_code === "RESOURCE_DOES_NOT_EXIST"
    ) {
      throw notFound();
    }
    if (response.status !== 200) throw this.unusable(what, `HTTP ${response.status}`);
    return parsed as T;
  }

  private unusable(what: string, detail: string): UpstreamError {
    return new UpstreamError(
      `The MLflow tracking server at ${this.trackingUri} answered ${what} with something unusable (${detail}). Check that trackingUri is an MLflow tracking server's base URL.`,
    );
  }
}

/** The body as text, or undefined once it passes `maxBytes` (the rest is not read). */
async function readCapped(stream: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
