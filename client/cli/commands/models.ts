import type { ByomClient, ResponseOf } from "../../api-client.ts";
import { ClientError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { defineCommand } from "../command.ts";
import { resolveExperimentId } from "./experiments.ts";
import { projectListCommand } from "./projects.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";

type Model = ResponseOf<RouteOf<"getModel">>;

const MODEL_ID = /^mdl-[0-9a-z]{26}$/;

/** A registered model's id, or its name (unique in a project); undefined when no such name. */
export async function findModel(
  client: ByomClient,
  projectId: string,
  model: string,
): Promise<Model | undefined> {
  if (MODEL_ID.test(model)) return client.call("getModel", { params: { projectId, modelId: model } });
  for await (const item of client.all("listModels", { params: { projectId } })) {
    if (item.name === model) return item;
  }
  return undefined;
}

export async function resolveModel(client: ByomClient, projectId: string, model: string): Promise<Model> {
  const found = await findModel(client, projectId, model);
  if (!found) {
    throw new ClientError(
      `No model named '${model}' in project ${projectId}. Run 'byom models list --project ${projectId}', or register one with 'byom models register <experiment> --project ${projectId} --model ${model}'.`,
    );
  }
  return found;
}

export const modelsRegister = defineCommand({
  name: "models register",
  summary: "Register an experiment as the next version of a model (created if new)",
  positionals: [{ name: "experiment", description: "experiment id or name" }],
  options: {
    ...projectOption,
    model: { type: "string", placeholder: "model", required: true, description: "Model name or id" },
    description: { type: "string", placeholder: "text", description: "Description, when the model is new" },
  },
  examples: ["byom models register churn-v2 --project fraud --model churn"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const experimentId = await resolveExperimentId(client, projectId, ctx.positionals[0] as string);
    const name = ctx.required("model");
    let model = await findModel(client, projectId, name);
    if (!model) {
      model = await client.call("createModel", {
        params: { projectId },
        body: { name, description: ctx.string("description") },
      });
      ctx.out.note(`Created model ${model.name} (${model.modelId}).`);
    }
    const version = await client.call("registerModelVersion", {
      params: { projectId, modelId: model.modelId },
      body: { experimentId },
    });
    ctx.out.result(
      { model, version },
      () =>
        `Registered experiment ${experimentId} as ${model.name} version ${version.version}.\n` +
        `Deploy it with: byom deploy ${model.name}@${version.version} --project ${ctx.required("project")} --wait`,
    );
  },
});

export const modelsList = projectListCommand({
  name: "models list",
  summary: "List a project's registered models",
  examples: ["byom models list --project fraud"],
  fetchPage: (client, projectId, query) => client.call("listModels", { params: { projectId }, query }),
  columns: [
    { header: "ID", value: (m) => m.modelId },
    { header: "NAME", value: (m) => m.name },
    { header: "CREATED", value: (m) => m.createdAt },
    { header: "DESCRIPTION", value: (m) => m.description },
  ],
  empty: "No models yet: byom models register <experiment> --project <project> --model <name>",
});

export const modelsShow = defineCommand({
  name: "models show",
  summary: "Show a registered model and its versions",
  positionals: [{ name: "model", description: "model id or name" }],
  options: { ...projectOption },
  examples: ["byom models show churn --project fraud"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const model = await resolveModel(client, projectId, ctx.positionals[0] as string);
    const versions: ResponseOf<RouteOf<"listModelVersions">>["items"] = [];
    for await (const version of client.all("listModelVersions", {
      params: { projectId, modelId: model.modelId },
    })) {
      versions.push(version);
    }
    ctx.out.result({ ...model, versions }, () =>
      [
        ctx.out.fields([
          ["id", model.modelId],
          ["name", model.name],
          ["description", model.description || "-"],
          ["created", `${model.createdAt} by ${model.createdBy}`],
        ]),
        "",
        ctx.out.colour("bold", "Versions:"),
        ctx.out.table(versions, [
          { header: "VERSION", value: (v) => String(v.version), right: true },
          { header: "EXPERIMENT", value: (v) => v.experimentId },
          { header: "CREATED", value: (v) => `${v.createdAt} by ${v.createdBy}` },
        ]),
      ].join("\n"),
    );
  },
});
