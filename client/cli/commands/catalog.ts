import { UsageError } from "../../errors.ts";
import { defineCommand } from "../command.ts";
import { listOptions, listPage } from "./projects.ts";

const KINDS = [
  "artifact-types",
  "deployable-artifact-types",
  "artifact-processors",
  "model-types",
  "runtimes",
] as const;

export const catalogList = defineCommand({
  name: "catalog list",
  summary: "List catalog entries of one kind (artifact types, processors, runtimes …)",
  positionals: [{ name: "kind", description: KINDS.join(", ") }],
  options: listOptions(),
  examples: ["byom catalog list runtimes", "byom catalog list artifact-types --json"],
  async run(ctx) {
    const kind = ctx.positionals[0] as (typeof KINDS)[number];
    if (!KINDS.includes(kind)) throw new UsageError(`<kind> is one of ${KINDS.join(", ")}.`, "catalog list");
    const page = await listPage(ctx, (query) =>
      ctx.client().call("listCatalogEntries", { params: { kind }, query }),
    );
    const items = page.items as unknown as Record<string, unknown>[];
    const keys = [...new Set(items.flatMap((item) => Object.keys(item)))];
    ctx.out.result(page, () =>
      ctx.out.table(
        items,
        keys.map((key) => ({
          header: key.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase(),
          value: (item: Record<string, unknown>) => cell(item[key]),
        })),
      ),
    );
  },
});

export const catalogCompositions = defineCommand({
  name: "catalog compositions",
  summary: "Show how an artifact type can be deployed: processor, model type and runtime",
  options: {
    "artifact-type": {
      type: "string",
      placeholder: "type",
      required: true,
      description: "Artifact type, e.g. python/mlflow",
    },
    framework: {
      type: "string",
      placeholder: "framework",
      description: "Only runtimes serving this framework",
    },
  },
  examples: ["byom catalog compositions --artifact-type python/mlflow --framework sklearn"],
  async run(ctx) {
    const result = await ctx.client().call("listCompositions", {
      query: { artifactType: ctx.required("artifact-type"), framework: ctx.string("framework") },
    });
    ctx.out.result(result, () =>
      ctx.out.table(
        result.items,
        [
          { header: "DEPLOYABLE TYPE", value: (c) => c.deployableArtifactType },
          { header: "PROCESSOR", value: (c) => c.processor },
          { header: "MODEL TYPE", value: (c) => c.modelType },
          { header: "RUNTIME", value: (c) => c.runtime },
          { header: "FRAMEWORKS", value: (c) => c.frameworks.join(", ") },
        ],
        `No way to deploy ${result.artifactType} yet: add a processor and runtime to the catalog.`,
      ),
    );
  },
});

function cell(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(cell).join(", ");
  return JSON.stringify(value);
}
