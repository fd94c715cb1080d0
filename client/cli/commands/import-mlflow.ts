import { ClientError, UsageError } from "../../errors.ts";
import { waitForJob } from "../../jobs.ts";
import { defineCommand } from "../command.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";
import { showIngested, waitForIngestion } from "./upload.ts";

export const importMlflow = defineCommand({
  name: "import-mlflow",
  summary: "Import a model version from an MLflow Model Registry as a new experiment",
  description: [
    "Byom fetches the version's files from the tracking server in a job (the server must be reachable",
    "from the job worker): it creates an experiment with source_model_name/source_model_version and",
    "ingests it. The command shows the job's progress, waits for ingestion and prints the schema.",
  ].join("\n"),
  options: {
    ...projectOption,
    "tracking-uri": {
      type: "string",
      placeholder: "url",
      required: true,
      description: "MLflow tracking server base URL, e.g. http://mlflow.internal:5000",
    },
    model: {
      type: "string",
      placeholder: "name",
      required: true,
      description: "Registered model name in MLflow",
    },
    version: {
      type: "string",
      placeholder: "n",
      required: true,
      description: "Registered model version in MLflow",
    },
    "no-wait": { type: "boolean", description: "Return once the import job is queued" },
    timeout: {
      type: "string",
      placeholder: "seconds",
      description: "How long to wait for the import job, then for ingestion",
      default: "600",
    },
  },
  examples: [
    "byom import-mlflow --project fraud --tracking-uri http://127.0.0.1:5000 --model churn --version 3",
  ],
  async run(ctx) {
    const version = ctx.required("version");
    if (!/^[1-9]\d{0,9}$/.test(version))
      throw new UsageError("--version is a positive whole number.", "import-mlflow");
    const timeoutSeconds = Number(ctx.string("timeout") ?? "600");
    if (!(timeoutSeconds > 0))
      throw new UsageError("--timeout must be a positive number of seconds.", "import-mlflow");
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    ctx.out.note(
      `Importing ${ctx.required("model")} version ${version} from ${ctx.required("tracking-uri")} …`,
    );
    // The API answers 202 at once; the job worker copies the files (docs/ingestion.md, "Jobs").
    const accepted = await client.call("importMlflowModel", {
      params: { projectId },
      body: { trackingUri: ctx.required("tracking-uri"), modelName: ctx.required("model"), version },
    });
    if (ctx.flag("no-wait")) {
      ctx.out.result(
        accepted,
        () =>
          `Importing as job ${accepted.jobId}; follow it with 'byom jobs wait ${accepted.jobId} --project ${projectId}'.`,
      );
      return;
    }
    ctx.out.note(`Waiting for job ${accepted.jobId} …`);
    const job = await waitForJob(client, projectId, accepted.jobId, {
      timeoutSeconds,
      onProgress: (j) => ctx.out.note(`  ${j.status.toLowerCase()}: ${j.progress.message}`),
    });
    const { experiment, artifact: copied } = job.result as {
      experiment: { experimentId: string; name: string };
      artifact: { artifactId: string; experimentId: string };
    };
    ctx.out.note(
      `Imported as experiment ${experiment.name} (${experiment.experimentId}); waiting for ingestion of artifact ${copied.artifactId} …`,
    );
    const artifact = await waitForIngestion(
      client,
      { projectId, experimentId: copied.experimentId, artifactId: copied.artifactId },
      timeoutSeconds,
    );
    if (artifact.status === "FAILED") {
      throw new ClientError(
        `Ingestion of the imported model failed: ${artifact.failureReason ?? "no reason given"} (experiment ${artifact.experimentId}).`,
      );
    }
    await showIngested(ctx, client, artifact);
  },
});
