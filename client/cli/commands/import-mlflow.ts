import { ClientError, UsageError } from "../../errors.ts";
import { defineCommand } from "../command.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";
import { showIngested, waitForIngestion } from "./upload.ts";

export const importMlflow = defineCommand({
  name: "import-mlflow",
  summary: "Import a model version from an MLflow Model Registry as a new experiment",
  description: [
    "Byom fetches the version's files from the tracking server (it must be reachable from the API),",
    "creates an experiment with source_model_name/source_model_version, ingests it and prints its schema.",
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
    "no-wait": { type: "boolean", description: "Do not wait for ingestion" },
    timeout: {
      type: "string",
      placeholder: "seconds",
      description: "How long to wait for ingestion",
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
    const imported = await client.call("importMlflowModel", {
      params: { projectId },
      body: { trackingUri: ctx.required("tracking-uri"), modelName: ctx.required("model"), version },
    });
    let artifact = imported.artifact;
    if (ctx.flag("no-wait")) {
      ctx.out.result(
        imported,
        () =>
          `Imported as experiment ${imported.experiment.name} (${imported.experiment.experimentId}); artifact ${artifact.artifactId} is ${artifact.status}.`,
      );
      return;
    }
    ctx.out.note(`Waiting for ingestion of artifact ${artifact.artifactId} …`);
    artifact = await waitForIngestion(
      client,
      { projectId, experimentId: artifact.experimentId, artifactId: artifact.artifactId },
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
