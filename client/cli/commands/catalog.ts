import { ClientError, UsageError } from "../../errors.ts";
import { type CommandContext, defineCommand } from "../command.ts";
import { readJsonFile } from "./experiments.ts";
import { followJob, timeoutOption } from "./jobs.ts";
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
    const kind = catalogKind(ctx.positionals[0], "catalog list");
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

export type CatalogEntry = Record<string, unknown> & { name: string };
const ENTRY_POSITIONALS = [
  { name: "kind", description: KINDS.join(", ") },
  { name: "name", description: "the entry's name" },
];
const IMAGE_KINDS = ["artifact-processors", "runtimes"];
/** The projectId import-image jobs are recorded under (lambdas/jobs/job-kinds.ts). */
const CATALOG_JOBS_PROJECT = "catalog";

function catalogKind(value: unknown, command: string): (typeof KINDS)[number] {
  if (!KINDS.includes(value as (typeof KINDS)[number]))
    throw new UsageError(`<kind> is one of ${KINDS.join(", ")}.`, command);
  return value as (typeof KINDS)[number];
}

/** Reads every page of a kind for the named entry (the API lists entries; names may hold '/'). */
export async function findEntry(ctx: CommandContext, kind: string, name: string): Promise<CatalogEntry> {
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await ctx.client().call("listCatalogEntries", {
      params: { kind: kind as (typeof KINDS)[number] },
      query: { limit: 100, ...(cursor ? { cursor } : {}) },
    });
    const found = (page.items as unknown as CatalogEntry[]).find((entry) => entry.name === name);
    if (found) return found;
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  throw new ClientError(`The catalog has no ${kind} entry named '${name}'. See 'byom catalog list ${kind}'.`);
}

/** `NAME=value` options → an object; a ClientError naming the option for anything else. */
function keyValues(option: string, values: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    values.map((pair) => {
      const at = pair.indexOf("=");
      if (at <= 0) throw new ClientError(`${option} takes NAME=value, not '${pair}'.`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

function renderEntry(ctx: CommandContext, entry: CatalogEntry): string {
  return ctx.out.fields(
    Object.entries(entry)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, cell(value)] as const),
  );
}

/** The entry from --file, with the flags over it (flags name the fields in kebab-case). */
function entryFromOptions(ctx: CommandContext): Record<string, unknown> {
  const file = ctx.string("file");
  const fromFile = file ? readJsonFile("--file", file) : {};
  if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile))
    throw new ClientError(`--file: '${file}' must hold one JSON object, the entry.`);
  const entry: Record<string, unknown> = { ...(fromFile as Record<string, unknown>) };
  const kind = ctx.positionals[0] ?? entry.kind;
  entry.kind = catalogKind(kind, "catalog add");
  for (const [option, field] of [
    ["name", "name"],
    ["image", "image"],
    ["model-type", "modelType"],
    ["deployable-artifact-type", "deployableArtifactType"],
    ["artifact-type", "artifactType"],
    ["readable-name", "readableName"],
    ["health-path", "healthPath"],
    ["credentials-arn", "imageCredentialsArn"],
  ] as const) {
    const value = ctx.string(option);
    if (value !== undefined) entry[field] = value;
  }
  const list = (option: string) => (ctx.options[option] as string[] | undefined) ?? [];
  if (list("env").length > 0) entry.env = { ...(entry.env as object), ...keyValues("--env", list("env")) };
  if (list("framework").length > 0) entry.frameworks = list("framework");
  if (list("capability").length > 0) entry.capabilities = list("capability");
  if (typeof entry.name !== "string")
    throw new UsageError("--name (or a name in --file) is required.", "catalog add");
  return entry;
}

export const catalogAdd = defineCommand({
  name: "catalog add",
  summary: "Add a catalog entry (installation admins); on AWS wait while its image is copied into ECR",
  description: [
    "The entry comes from flags, or from a JSON file (--file) with the flags over it; the fields are",
    "those of POST /v1/catalog/entries (docs/catalog.md). On AWS a processor's or runtime's image is",
    "pinned by digest and copied into this account's ECR by a job: the command shows the job's",
    "progress and prints the pinned image, or fails with the reason the image could not be copied.",
  ].join("\n"),
  positionals: [{ name: "kind", description: `${KINDS.join(", ")} (or "kind" in --file)`, optional: true }],
  options: {
    file: { type: "string", placeholder: "entry.json", description: "The entry as JSON" },
    name: { type: "string", placeholder: "name", description: "The entry's name" },
    image: {
      type: "string",
      placeholder: "reference",
      description: "Container image (processors, runtimes)",
    },
    "model-type": { type: "string", placeholder: "type", description: "Model type (processors, runtimes)" },
    "deployable-artifact-type": {
      type: "string",
      placeholder: "type",
      description: "Deployable artifact type a processor takes",
    },
    "artifact-type": { type: "string", placeholder: "type", description: "Artifact type (deployable types)" },
    "readable-name": { type: "string", placeholder: "text", description: "Display name (types)" },
    "health-path": { type: "string", placeholder: "path", description: "Runtime health path" },
    "credentials-arn": {
      type: "string",
      placeholder: "arn",
      description: "Secrets Manager secret (byom-registry/…) for a private registry",
    },
    env: { type: "string", placeholder: "NAME=value", multiple: true, description: "Environment variable" },
    framework: {
      type: "string",
      placeholder: "name",
      multiple: true,
      description: "Framework a runtime serves",
    },
    capability: { type: "string", placeholder: "name", multiple: true, description: "Runtime capability" },
    "no-wait": { type: "boolean", description: "Return once the entry is recorded (the copy goes on)" },
    ...timeoutOption,
  },
  examples: [
    "byom catalog add runtimes --name acme-xgb --model-type python/ready-model --image ghcr.io/acme/xgb:1.4 --framework xgboost --capability passphrase",
    "byom catalog add --file acme-runtime.json",
  ],
  async run(ctx) {
    const body = entryFromOptions(ctx);
    const kind = body.kind as (typeof KINDS)[number];
    let entry = (await ctx
      .client()
      .call("addCatalogEntry", { body: body as never })) as unknown as CatalogEntry;
    const jobId = entry.importJobId;
    if (entry.imageStatus === "IMPORTING" && typeof jobId === "string" && !ctx.flag("no-wait")) {
      await followJob(ctx, CATALOG_JOBS_PROJECT, jobId);
      entry = await findEntry(ctx, kind, entry.name);
    }
    ctx.out.result(entry, () => {
      const pinned = typeof entry.pinnedImage === "string" ? entry.pinnedImage : undefined;
      const state = !IMAGE_KINDS.includes(kind)
        ? "added"
        : entry.imageStatus === undefined
          ? "added (local mode: no image import)"
          : `added, image ${String(entry.imageStatus)}${pinned ? ` as ${pinned}` : ""}`;
      const digest = pinned?.split("@")[1];
      return [
        `${kind} '${entry.name}' ${state}.`,
        ...(digest ? [`Pinned digest: ${digest}`] : []),
        ...(entry.imageStatus === "IMPORTING"
          ? [`The copy goes on (job ${String(jobId)}): see 'byom catalog get ${kind} ${entry.name}'.`]
          : []),
      ].join("\n");
    });
  },
});

export const catalogGet = defineCommand({
  name: "catalog get",
  summary: "Show one catalog entry (its image state and pinned image for processors and runtimes)",
  positionals: ENTRY_POSITIONALS,
  examples: ["byom catalog get runtimes acme-xgb"],
  async run(ctx) {
    const kind = catalogKind(ctx.positionals[0], "catalog get");
    const entry = await findEntry(ctx, kind, ctx.positionals[1] as string);
    ctx.out.result(entry, () => renderEntry(ctx, entry));
  },
});

export const catalogDelete = defineCommand({
  name: "catalog delete",
  summary: "Delete a catalog entry nothing uses (installation admins; built-ins stay)",
  positionals: ENTRY_POSITIONALS,
  examples: ["byom catalog delete runtimes acme-xgb"],
  async run(ctx) {
    const kind = catalogKind(ctx.positionals[0], "catalog delete");
    const name = ctx.positionals[1] as string;
    await ctx.client().call("deleteCatalogEntry", { params: { kind }, query: { name } });
    ctx.out.result({ kind, name, deleted: true }, () => `${kind} '${name}' deleted.`);
  },
});
