import { NotFoundError, UpstreamError, ValidationFailedError } from "#lambdas/shared/errors.ts";

/**
 * A small client of an MLflow tracking server's REST API: the Model Registry
 * (`/api/2.0/mlflow/model-versions/...`) and the artifact proxy (`/api/2.0/mlflow-artifacts/...`,
 * which serves `mlflow-artifacts:` URIs when the server runs with --serve-artifacts, its default).
 */
const CALL_TIMEOUT_MS = 30_000;
const DOWNLOAD_TIMEOUT_MS = 14 * 60_000;

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
  private readonly base: string;

  constructor(readonly trackingUri: string) {
    this.base = trackingUri.replace(/\/+$/, "");
  }

  async modelVersion(name: string, version: string): Promise<ModelVersion> {
    const query = new URLSearchParams({ name, version });
    const response = await this.call(`/api/2.0/mlflow/model-versions/get?${query}`);
    if (response.status === 404 && (await errorCode(response)) === "RESOURCE_DOES_NOT_EXIST") {
      throw new MlflowModelVersionNotFoundError(this.trackingUri, name, version);
    }
    const body = await this.json<{ model_version?: Record<string, unknown> }>(response, "model-versions/get");
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
    if (response.status === 404 && (await errorCode(response)) === "RESOURCE_DOES_NOT_EXIST") {
      throw new MlflowModelVersionNotFoundError(this.trackingUri, name, version);
    }
    const body = await this.json<{ artifact_uri?: string }>(response, "get-download-uri");
    const uri = body.artifact_uri;
    if (!uri) throw this.unusable("get-download-uri", "no artifact_uri in the answer");
    // mlflow-artifacts:/<path> or mlflow-artifacts://<host>/<path>: both served by this server.
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
    if (!match) {
      throw new UpstreamError(
        `Model '${name}' version ${version} is stored at '${uri}', which the tracking server at ${this.trackingUri} does not serve. Byom imports through the server's artifact proxy: run it with --serve-artifacts (mlflow-artifacts: URIs), the default of 'mlflow server'.`,
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
          throw this.unusable("mlflow-artifacts list", `an entry named '${entry.path}'`);
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

  /** Streams one artifact file. */
  async download(root: string, file: string): Promise<AsyncIterable<Uint8Array>> {
    const path = `${root}/${file}`.split("/").map(encodeURIComponent).join("/");
    const response = await this.call(`/api/2.0/mlflow-artifacts/artifacts/${path}`, DOWNLOAD_TIMEOUT_MS);
    if (!response.ok || !response.body) {
      throw this.unusable(`download of ${file}`, `HTTP ${response.status}`);
    }
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  private async call(pathAndQuery: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Response> {
    try {
      return await fetch(`${this.base}${pathAndQuery}`, {
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new UpstreamError(
        `The MLflow tracking server at ${this.trackingUri} is unreachable (${why}). Check trackingUri and that the server is running and reachable from Byom.`,
        [{ message: why, trackingUri: this.trackingUri }],
      );
    }
  }

  private async json<T>(response: Response, what: string): Promise<T> {
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw new UpstreamError(
        `The MLflow tracking server at ${this.trackingUri} refused ${what} with HTTP ${response.status}. Byom imports from servers that allow anonymous reads.`,
      );
    }
    if (!response.ok) throw this.unusable(what, `HTTP ${response.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.unusable(what, `not JSON: ${text.slice(0, 100)}`);
    }
  }

  private unusable(what: string, detail: string): UpstreamError {
    return new UpstreamError(
      `The MLflow tracking server at ${this.trackingUri} answered ${what} with something unusable (${detail}). Check that trackingUri is an MLflow tracking server's base URL.`,
    );
  }
}

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    return ((await response.clone().json()) as { error_code?: string }).error_code;
  } catch {
    return undefined;
  }
}
