import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import type { ByomClient, ResponseOf } from "../../api-client.ts";
import { ApiError, ClientError, UsageError } from "../../errors.ts";
import { waitForJob } from "../../jobs.ts";
import type { RouteOf } from "../../operations.ts";
import {
  type MultipartPlan,
  putMultipart,
  putSingle,
  type UploadPlan,
  type UploadState,
  UploadStateStore,
} from "../../s3-transfer.ts";
import { type CommandContext, defineCommand } from "../command.ts";
import { formatBytes } from "../output.ts";
import { ProgressBar } from "../progress.ts";
import { renderSchema, resolveExperimentId } from "./experiments.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";

type Artifact = ResponseOf<RouteOf<"getArtifact">>;

/** File extensions that say which artifact type a file is, when --type is not given. */
const TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  ".zip": "python/mlflow",
  ".pkl": "python/pickle",
  ".pickle": "python/pickle",
  ".joblib": "python/pickle",
};

export const upload = defineCommand({
  name: "upload",
  summary: "Upload a model file as an experiment's artifact, then show the schema ingestion found",
  description: [
    "Creates an experiment named after the file (or --name), or adds the artifact to --experiment.",
    "Large files go up as a multipart upload, parts in parallel; if it is interrupted, run the same",
    "command again and only the missing parts are sent (state in <BYOM_HOME>/uploads/).",
    "The type is python/mlflow for .zip and python/pickle for .pkl/.pickle/.joblib unless --type says otherwise.",
  ].join("\n"),
  positionals: [
    { name: "file", description: "the model file (an MLflow model zip, a pickle/joblib file …)" },
  ],
  options: {
    ...projectOption,
    experiment: {
      type: "string",
      placeholder: "experiment",
      description: "Add to this experiment (id or name)",
    },
    name: {
      type: "string",
      placeholder: "name",
      description: "Name of the new experiment (default: the file name)",
    },
    description: { type: "string", placeholder: "text", description: "Description of the new experiment" },
    type: {
      type: "string",
      placeholder: "type",
      description: "Artifact type, e.g. python/mlflow or python/pickle",
    },
    framework: {
      type: "string",
      placeholder: "framework",
      description: "The library that wrote a python/pickle file, e.g. sklearn or xgboost",
    },
    parallel: { type: "string", placeholder: "n", description: "Parts uploaded at once", default: "4" },
    "no-wait": { type: "boolean", description: "Do not wait for ingestion" },
    timeout: {
      type: "string",
      placeholder: "seconds",
      description: "How long to wait for ingestion",
      default: "600",
    },
    restart: { type: "boolean", description: "Forget an interrupted upload of this file and start over" },
  },
  examples: [
    "byom upload model.zip --project fraud",
    "byom upload model.pkl --project fraud --name churn --framework sklearn",
  ],
  async run(ctx) {
    const file = resolve(ctx.positionals[0] as string);
    const parallel = positiveInt(ctx.string("parallel") ?? "4", "--parallel");
    const timeoutSeconds = positiveInt(ctx.string("timeout") ?? "600", "--timeout");
    if (ctx.string("experiment") && ctx.string("name")) {
      throw new UsageError("Give --experiment (an existing one) or --name (a new one), not both.", "upload");
    }
    const stats = statFile(file);
    const type = ctx.string("type") ?? TYPE_BY_EXTENSION[extname(file).toLowerCase()];
    if (!type) {
      throw new UsageError(
        `Cannot tell the artifact type of '${basename(file)}' from its extension: pass --type (python/mlflow for an MLflow model zip, python/pickle with --framework for a pickle).`,
        "upload",
      );
    }

    const client = ctx.client();
    const config = ctx.config();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const store = new UploadStateStore(config.home, [
      config.apiUrl,
      projectId,
      ctx.string("experiment") ?? `name:${ctx.string("name") ?? ""}`,
      file,
      stats.size,
      stats.mtimeMs,
      type,
    ]);
    if (ctx.flag("restart")) store.clear();

    let state = store.load();
    if (state && !(await artifactExists(client, state))) {
      ctx.out.note(
        `The interrupted upload of ${basename(file)} no longer exists on the server; starting over.`,
      );
      store.clear();
      state = undefined;
    }
    const resumed = state !== undefined;
    if (state) {
      const parts = "multipart" in state.plan ? state.plan.multipart.parts.length : 1;
      ctx.out.note(
        `Resuming the upload of ${basename(file)} (artifact ${state.artifactId}): ${state.done.length} of ${parts} parts already uploaded.`,
      );
    } else {
      state = await startUpload(ctx, client, {
        file,
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        projectId,
        type,
      });
      store.save(state);
    }
    const ref = { projectId, experimentId: state.experimentId, artifactId: state.artifactId };

    let artifact = await client.call("getArtifact", { params: ref });
    if (resumed && artifact.status === "UPLOADING") {
      // The saved presigned URLs may have expired (they live an hour): fresh ones for the same
      // upload and part numbers; the parts already sent stay sent.
      const renewed = await client.call("renewArtifactUpload", { params: ref });
      state = { ...state, plan: renewed.upload as UploadPlan };
      store.save(state);
    }
    if (artifact.status === "UPLOADING") {
      await sendBytes(ctx.out.stderrStream, client, store, state, parallel);
      artifact = await client.call("getArtifact", { params: ref });
    }
    if (ctx.flag("no-wait")) {
      store.clear();
      ctx.out.result({ artifact }, () => `Uploaded: artifact ${artifact.artifactId} is ${artifact.status}.`);
      return;
    }
    ctx.out.note(`Waiting for ingestion of artifact ${artifact.artifactId} …`);
    artifact = await waitForIngestion(client, ref, timeoutSeconds);
    store.clear();
    if (artifact.status === "FAILED") {
      throw new ClientError(
        `Ingestion of ${basename(file)} failed: ${artifact.failureReason ?? "no reason given"}\n` +
          `(artifact ${artifact.artifactId}, experiment ${artifact.experimentId}). Fix the file and upload it again.`,
      );
    }
    await showIngested(ctx, client, artifact);
  },
});

/** Prints what ingestion found: the experiment's schema (or, with --json, experiment and artifact). */
export async function showIngested(
  ctx: CommandContext,
  client: ByomClient,
  artifact: Artifact,
): Promise<void> {
  const projectId = artifact.projectId;
  const experiment = await client.call("getExperiment", {
    params: { projectId, experimentId: artifact.experimentId },
  });
  ctx.out.result({ experiment, artifact }, () =>
    [
      `Experiment ${experiment.name} (${experiment.experimentId}): artifact ${artifact.artifactId} is ${artifact.status}` +
        (artifact.model
          ? ` (${artifact.model.framework}, python ${artifact.model.pythonVersion ?? "?"})`
          : ""),
      ...artifact.notices.map((notice) => ctx.out.colour("yellow", `note: ${notice}`)),
      renderSchema(ctx.out, experiment),
    ].join("\n"),
  );
}

interface NewUpload {
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly projectId: string;
  readonly type: string;
}

function refusesField(error: ApiError, path: string): boolean {
  return error.details.some((detail) => (detail as { path?: string } | null)?.path === path);
}

/** Creates the experiment (unless one is named) and the artifact; returns the upload's state. */
async function startUpload(
  ctx: Parameters<typeof upload.run>[0],
  client: ByomClient,
  input: NewUpload,
): Promise<UploadState> {
  const { projectId } = input;
  if (input.size > 256 * 1024 * 1024) {
    ctx.out.note(
      `Computing the SHA-256 of ${basename(input.file)} (${formatBytes(input.size)}) so S3 can verify it …`,
    );
  }
  const sha256 = await sha256Of(input.file);
  const existing = ctx.string("experiment");
  const experimentId = existing
    ? await resolveExperimentId(client, projectId, existing)
    : (
        await client.call("createExperiment", {
          params: { projectId },
          body: {
            name: ctx.string("name") ?? basename(input.file, extname(input.file)),
            description: ctx.string("description"),
          },
        })
      ).experimentId;
  let created: ResponseOf<RouteOf<"createArtifact">>;
  try {
    created = await client.call("createArtifact", {
      params: { projectId, experimentId },
      body: {
        type: input.type,
        fileName: basename(input.file),
        sizeBytes: input.size,
        sha256,
        framework: ctx.string("framework"),
      },
    });
  } catch (error) {
    // The API refused the artifact (unknown type, missing framework …): do not leave behind the
    // empty experiment this command created a moment ago.
    if (!existing && error instanceof ApiError) {
      await client.call("deleteExperiment", { params: { projectId, experimentId } }).catch(() => undefined);
    }
    // The API names the body's field; on the command line it is an option.
    if (error instanceof ApiError && !ctx.string("framework") && refusesField(error, "body.framework")) {
      throw new ApiError(
        error.status,
        error.code,
        `${error.message} Pass --framework <library>, e.g. --framework sklearn.`,
        error.details,
      );
    }
    throw error;
  }
  return {
    version: 1,
    file: input.file,
    sizeBytes: input.size,
    mtimeMs: input.mtimeMs,
    projectId,
    experimentId,
    artifactId: created.artifact.artifactId,
    plan: created.upload as UploadPlan,
    done: [],
    startedAt: new Date().toISOString(),
  };
}

async function sendBytes(
  stderr: NodeJS.WriteStream,
  client: ByomClient,
  store: UploadStateStore,
  state: UploadState,
  parallel: number,
): Promise<void> {
  const { plan, file, sizeBytes } = state;
  const ref = { projectId: state.projectId, experimentId: state.experimentId, artifactId: state.artifactId };
  if (!("multipart" in plan)) {
    const bar = new ProgressBar(sizeBytes, basename(file), stderr);
    try {
      await putSingle(file, sizeBytes, plan, (delta) => bar.add(delta));
    } catch (error) {
      bar.abandon();
      throw error;
    }
    bar.finish();
    return;
  }
  const partSize = (plan as MultipartPlan).multipart.partSizeBytes;
  const doneBytes = state.done.reduce(
    (sum, part) => sum + Math.min(partSize, sizeBytes - (part.partNumber - 1) * partSize),
    0,
  );
  const bar = new ProgressBar(sizeBytes, basename(file), stderr, doneBytes);
  const done = [...state.done];
  const stopAfter = process.env.BYOM_CLI_STOP_AFTER_PARTS;
  let parts: Awaited<ReturnType<typeof putMultipart>>;
  try {
    parts = await putMultipart(file, sizeBytes, plan as MultipartPlan, {
      concurrency: parallel,
      done,
      onProgress: (delta) => bar.add(delta),
      onPartDone: (part) => {
        done.push(part);
        store.save({ ...state, done: [...done] });
      },
      stopAfterParts: stopAfter ? Number(stopAfter) : undefined,
    });
  } catch (error) {
    bar.abandon();
    throw error;
  }
  bar.finish();
  // S3 assembles the parts in a job (it can take minutes for a large object).
  const accepted = await client.call("completeArtifactUpload", { params: ref, body: { parts } });
  stderr.write(`Assembling ${parts.length} parts (job ${accepted.jobId}) …\n`);
  await waitForJob(client, ref.projectId, accepted.jobId, { timeoutSeconds: 3600 });
}

/** Polls the artifact until ingestion ends: READY or FAILED. */
export async function waitForIngestion(
  client: ByomClient,
  ref: { projectId: string; experimentId: string; artifactId: string },
  timeoutSeconds: number,
): Promise<Artifact> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let delay = 200; ; delay = Math.min(2000, delay * 1.5)) {
    const artifact = await client.call("getArtifact", { params: ref });
    if (artifact.status === "READY" || artifact.status === "FAILED") return artifact;
    if (Date.now() > deadline) {
      throw new ClientError(
        `Artifact ${ref.artifactId} is still ${artifact.status} after ${timeoutSeconds} s. Check it later with 'byom experiments show ${ref.experimentId} --project ${ref.projectId}', or wait longer with --timeout.`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** False when the artifact (or its experiment) of a saved upload was deleted meanwhile. */
async function artifactExists(client: ByomClient, state: UploadState): Promise<boolean> {
  try {
    await client.call("getArtifact", {
      params: { projectId: state.projectId, experimentId: state.experimentId, artifactId: state.artifactId },
    });
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}

function statFile(file: string): { size: number; mtimeMs: number } {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(file);
  } catch {
    throw new ClientError(`File '${file}' does not exist. Check the path.`);
  }
  if (stats.isDirectory()) {
    throw new ClientError(
      `'${file}' is a folder. Zip an MLflow model folder first (cd <folder> && zip -r ../model.zip .).`,
    );
  }
  if (stats.size === 0) throw new ClientError(`'${file}' is empty: an empty file is not a model.`);
  return { size: stats.size, mtimeMs: stats.mtimeMs };
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256");
    createReadStream(file, { highWaterMark: 1024 * 1024 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", (error) => reject(new ClientError(`Cannot read ${file}: ${error.message}`)))
      .on("end", () => resolvePromise(hash.digest("hex")));
  });
}

export function positiveInt(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`${option} must be a positive whole number.`);
  return value;
}
