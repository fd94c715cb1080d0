import { type JobView, startJob } from "#lambdas/jobs/jobs.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { ValidationFailedError } from "#lambdas/shared/errors.ts";
import { newId } from "#lambdas/shared/ids.ts";
import { allowedMlflowHosts, pinHost } from "./pinned-host.ts";

export interface MlflowImportRequest {
  readonly trackingUri: string;
  readonly modelName: string;
  readonly version: string;
}

/**
 * Starts an import from an MLflow Model Registry as a job (docs/ingestion.md, "Jobs"): copying a
 * model version can take far longer than API Gateway waits. The request checks the caller's role,
 * the URI's form and where its host resolves (a loopback, private or link-local host is a 400 that
 * creates nothing, pinned-host.ts); the job worker checks the host again, reads the registry and
 * streams the files (mlflow-import-job.ts). A file of its own so that the
 * handler loads neither the S3 client nor the MLflow code (cdk/module-graph.ts grants by imports).
 * The experiment's and artifact's ids are chosen here, so a redelivered job finds what an earlier
 * attempt created instead of making a second experiment.
 */
export async function startMlflowImport(
  caller: Caller,
  projectId: string,
  input: MlflowImportRequest,
): Promise<JobView> {
  await authorize(caller, projectId, "editor");
  const trackingUri = checkTrackingUri(input.trackingUri);
  // The same check as the job's, so that a refused host is refused now; the job repeats it before
  // it connects, because DNS may answer differently by then (docs/ingestion.md).
  await pinHost(new URL(trackingUri), allowedMlflowHosts());
  return startJob(
    caller,
    projectId,
    "import-mlflow",
    {
      trackingUri,
      modelName: input.modelName,
      version: input.version,
      experimentId: newId("exp"),
      artifactId: newId("art"),
    },
    `importing model '${input.modelName}' version ${input.version} from ${trackingUri}`,
  );
}

/** http(s) only, no credentials in the URI; where it may connect is pinHost's to say. */
export function checkTrackingUri(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationFailedError(
      `trackingUri '${raw}' is not a URL. Give the tracking server's base URL, e.g. http://mlflow.internal:5000.`,
      [{ path: "body.trackingUri", message: "not a URL" }],
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ValidationFailedError(
      `trackingUri must be an http:// or https:// URL of an MLflow tracking server; '${url.protocol}' is not supported (databricks:, file: and local paths cannot be reached by Byom).`,
      [{ path: "body.trackingUri", message: "only http and https" }],
    );
  }
  if (url.username || url.password) {
    throw new ValidationFailedError(
      "trackingUri must not carry credentials; Byom imports from servers that allow anonymous reads.",
      [{ path: "body.trackingUri", message: "credentials in the URI" }],
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
