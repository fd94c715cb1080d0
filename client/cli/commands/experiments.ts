import { existsSync, readFileSync } from "node:fs";
import type { ByomClient, ResponseOf } from "../../api-client.ts";
import { ClientError, UsageError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { defineCommand } from "../command.ts";
import { formatBytes, type Output } from "../output.ts";
import { projectListCommand } from "./projects.ts";
import { projectOption, resolveName, resolveProjectId } from "./resolve.ts";

export type Experiment = ResponseOf<RouteOf<"getExperiment">>;
type Artifact = ResponseOf<RouteOf<"getArtifact">>;
type MetadataValue = Experiment["metadata"][string];

const EXPERIMENT_ID = /^exp-[0-9a-z]{26}$/;

/** An experiment id, or the name of one experiment in the project. */
export function resolveExperimentId(
  client: ByomClient,
  projectId: string,
  experiment: string,
): Promise<string> {
  return resolveName(
    experiment,
    EXPERIMENT_ID,
    client.all("listExperiments", { params: { projectId } }),
    (e) => ({ name: e.name, id: e.experimentId }),
    {
      none: `No experiment named '${experiment}' in project ${projectId}. Run 'byom experiments list --project ${projectId}' to see them.`,
      several: (count, ids) =>
        `${count} experiments are named '${experiment}' (${ids}). Pass the experiment id instead.`,
    },
  );
}

export const experimentsList = projectListCommand({
  name: "experiments list",
  summary: "List a project's experiments, with their schema and model version",
  examples: ["byom experiments list --project fraud"],
  fetchPage: (client, projectId, query) => client.call("listExperiments", { params: { projectId }, query }),
  columns: [
    { header: "ID", value: (e) => e.experimentId },
    { header: "NAME", value: (e) => e.name },
    { header: "SCHEMA", value: (e) => schemaSummary(e) },
    {
      header: "MODEL VERSION",
      value: (e) => (e.registeredAs ? `${e.registeredAs.modelId}@${e.registeredAs.version}` : "-"),
    },
    { header: "CREATED", value: (e) => e.createdAt },
  ],
  empty: "No experiments yet: byom upload <file> --project <project>",
});

export const experimentsShow = defineCommand({
  name: "experiments show",
  summary: "Show an experiment: metadata, schema, model version",
  positionals: [{ name: "experiment", description: "experiment id or name" }],
  options: { ...projectOption },
  examples: ["byom experiments show churn-model --project fraud"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const experimentId = await resolveExperimentId(client, projectId, ctx.positionals[0] as string);
    const experiment = await client.call("getExperiment", { params: { projectId, experimentId } });
    const artifacts: Artifact[] = [];
    for await (const artifact of client.all("listArtifacts", { params: { projectId, experimentId } })) {
      artifacts.push(artifact);
    }
    ctx.out.result({ ...experiment, artifacts }, () => renderExperiment(ctx.out, experiment, artifacts));
  },
});

export const experimentsSetSchema = defineCommand({
  name: "experiments set-schema",
  summary: "Set an experiment's input and/or output schema",
  description: [
    'Columns are written name:type separated by commas, or @file.json holding [{"name", "type"}, ...].',
    "Types: Boolean, Time64, Float32, Float64, Int32, Int64, String (any case).",
  ].join("\n"),
  positionals: [{ name: "experiment", description: "experiment id or name" }],
  options: {
    ...projectOption,
    input: {
      type: "string",
      placeholder: "columns",
      description: "Input columns, e.g. age:Int32,income:Float64",
    },
    output: { type: "string", placeholder: "columns", description: "Output columns, e.g. score:Float64" },
  },
  examples: [
    "byom experiments set-schema churn --project fraud --input age:Int32,income:Float64 --output churn:Float64",
    "byom experiments set-schema churn --project fraud --input @input-schema.json",
  ],
  async run(ctx) {
    const input = ctx.string("input");
    const output = ctx.string("output");
    if (input === undefined && output === undefined) {
      throw new UsageError("Give --input, --output or both.", "experiments set-schema");
    }
    const metadata: Record<string, { json_value: unknown }> = {};
    if (input !== undefined) metadata.input_schema = { json_value: parseColumns("--input", input) };
    if (output !== undefined) metadata.output_schema = { json_value: parseColumns("--output", output) };
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const experimentId = await resolveExperimentId(client, projectId, ctx.positionals[0] as string);
    const experiment = await client.call("patchExperiment", {
      params: { projectId, experimentId },
      body: { metadata },
    });
    ctx.out.result(experiment, () => renderSchema(ctx.out, experiment));
  },
});

/** A JSON file an option names; a ClientError saying which option when it is absent or not JSON. */
export function readJsonFile(option: string, file: string): unknown {
  if (!existsSync(file)) throw new ClientError(`${option}: file '${file}' does not exist.`);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ClientError(`${option}: '${file}' is not JSON (${(error as Error).message}).`);
  }
}

/** `a:Float64,b:String` or `@schema.json` → `[{name, type}]`; the server checks the types. */
export function parseColumns(option: string, text: string): unknown {
  if (text.startsWith("@")) return readJsonFile(option, text.slice(1));
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const at = entry.lastIndexOf(":");
      if (at <= 0 || at === entry.length - 1) {
        throw new UsageError(
          `${option}: '${entry}' is not name:type (e.g. age:Int32).`,
          "experiments set-schema",
        );
      }
      return { name: entry.slice(0, at), type: entry.slice(at + 1) };
    });
}

interface SchemaColumn {
  name: string;
  type: string;
}

export function schemaOf(
  experiment: Experiment,
  key: "input_schema" | "output_schema",
): SchemaColumn[] | undefined {
  const value = experiment.metadata[key] as { json_value?: unknown } | undefined;
  return Array.isArray(value?.json_value) ? (value.json_value as SchemaColumn[]) : undefined;
}

function schemaSummary(experiment: Experiment): string {
  const input = schemaOf(experiment, "input_schema");
  const output = schemaOf(experiment, "output_schema");
  if (!input && !output) return "none";
  return `${input?.length ?? "?"} in, ${output?.length ?? "?"} out`;
}

/** The schema as two tables, the way `upload` and `set-schema` show it. */
export function renderSchema(out: Output, experiment: Experiment): string {
  const parts: string[] = [];
  for (const [key, title] of [
    ["input_schema", "Input schema"],
    ["output_schema", "Output schema"],
  ] as const) {
    const columns = schemaOf(experiment, key);
    parts.push(out.colour("bold", `${title}:`));
    parts.push(
      columns
        ? out.table(columns, [
            { header: "COLUMN", value: (c) => c.name },
            { header: "TYPE", value: (c) => c.type },
          ])
        : out.colour(
            "dim",
            `  (not set: byom experiments set-schema ${experiment.name} --project ${experiment.projectId} --${key === "input_schema" ? "input" : "output"} <name:type,...>)`,
          ),
    );
  }
  return parts.join("\n");
}

function renderExperiment(out: Output, experiment: Experiment, artifacts: readonly Artifact[]): string {
  const other = Object.entries(experiment.metadata).filter(
    ([key]) => key !== "input_schema" && key !== "output_schema",
  );
  return [
    out.fields([
      ["id", experiment.experimentId],
      ["name", experiment.name],
      ["project", experiment.projectId],
      ["description", experiment.description || "-"],
      [
        "model version",
        experiment.registeredAs
          ? `${experiment.registeredAs.modelId}@${experiment.registeredAs.version}`
          : "not registered",
      ],
      ["created", `${experiment.createdAt} by ${experiment.createdBy}`],
      ["updated", experiment.updatedAt],
    ]),
    "",
    out.colour("bold", "Metadata:"),
    out.table(
      other,
      [
        { header: "KEY", value: ([key]) => key },
        { header: "TYPE", value: ([, value]) => valueType(value) },
        { header: "VALUE", value: ([, value]) => valueText(value) },
      ],
      "(none)",
    ),
    "",
    out.colour("bold", "Artifacts:"),
    out.table(artifacts, [
      { header: "ID", value: (a) => a.artifactId },
      { header: "TYPE", value: (a) => a.type },
      { header: "FILE", value: (a) => a.fileName },
      { header: "SIZE", value: (a) => formatBytes(a.sizeBytes), right: true },
      { header: "STATUS", value: (a) => (a.failureReason ? `${a.status}: ${a.failureReason}` : a.status) },
    ]),
    "",
    renderSchema(out, experiment),
  ].join("\n");
}

function valueType(value: MetadataValue): string {
  return (Object.keys(value)[0] ?? "").replace(/_value$/, "");
}

function valueText(value: MetadataValue): string {
  const inner = Object.values(value)[0];
  return typeof inner === "string" ? inner : JSON.stringify(inner);
}
