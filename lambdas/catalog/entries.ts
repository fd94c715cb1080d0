import * as z from "zod";
import { instant, text } from "#lambdas/shared/http/schemas.ts";
import {
  type ArtifactProcessorEntry,
  type ArtifactTypeEntry,
  type DeployableArtifactTypeEntry,
  IMAGE_STATUSES,
  type ModelTypeEntry,
  RUNTIME_CAPABILITIES,
  type RuntimeEntry,
} from "./builtin.ts";

/** The catalog's kinds as the API names them, and the BUILTIN_CATALOG list each one seeds from. */
export const CATALOG_KINDS = {
  "artifact-types": "artifactTypes",
  "deployable-artifact-types": "deployableArtifactTypes",
  "artifact-processors": "artifactProcessors",
  "model-types": "modelTypes",
  runtimes: "runtimes",
} as const;
export type CatalogKind = keyof typeof CATALOG_KINDS;
export const CATALOG_KIND_NAMES = Object.keys(CATALOG_KINDS) as CatalogKind[];

export interface CatalogEntryByKind {
  "artifact-types": ArtifactTypeEntry;
  "deployable-artifact-types": DeployableArtifactTypeEntry;
  "artifact-processors": ArtifactProcessorEntry;
  "model-types": ModelTypeEntry;
  runtimes: RuntimeEntry;
}
export type CatalogEntry = CatalogEntryByKind[CatalogKind];

export const catalogName = z
  .string()
  .min(1, "name must not be empty")
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/,
    "names start with a letter or digit and use letters, digits and . _ : / @ + -",
  );
const reference = (what: string) => catalogName.describe(`The name of an existing ${what}`);
const readableName = text("readableName", { max: 200, notBlank: true, trim: true });
const image = text("image", { max: 512, notBlank: true, trim: true }).describe(
  "A container image reference: this account's ECR, a public registry or a private one (with imageCredentialsArn); built-ins name a folder under runtime-images/",
);
const imageCredentialsArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
    "a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
  )
  .optional()
  .describe('A Secrets Manager secret holding {"username","password"} for a private registry');

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envSchema = z
  .record(z.string().regex(ENV_NAME, "environment variable names are [A-Za-z_][A-Za-z0-9_]*"), z.string())
  .meta({ propertyNames: { pattern: ENV_NAME.source } });
const healthPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]{0,199}$/, "a path starting with /, without spaces or a query")
  .optional()
  .describe("The GET path that answers 200 once the runtime is ready (default /model/schema)");
const capabilities = z
  .array(z.enum(RUNTIME_CAPABILITIES))
  .max(RUNTIME_CAPABILITIES.length)
  .refine((list) => new Set(list).size === list.length, "each capability once")
  // The refine's rule, stated in the document too (JSON Schema's own keyword for it).
  .meta({ uniqueItems: true })
  .optional()
  .describe(
    "What the image implements beyond GET /model/schema and POST /model/score: passphrase, shadow, metrics, capture, columnar, v2 (docs/catalog.md)",
  );
/** Set by the catalog when it brings the image into this account's ECR. */
const imageState = {
  imageCredentialsArn: z.string().optional(),
  pinnedImage: z.string().optional().describe("What tasks pull: this account's ECR repository@sha256:…"),
  imageStatus: z.enum(IMAGE_STATUSES).optional(),
  imageStatusReason: z.string().optional(),
  executionRoleArn: z
    .string()
    .optional()
    .describe("The role ECS pulls this entry's image with: its ECR repository and nothing else"),
  importJobId: z
    .string()
    .optional()
    .describe("The job copying the image into ECR: GET /v1/projects/catalog/jobs/{importJobId} follows it"),
};

const compiles = (pattern: string) => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

/** A variable deployments may set (docs/deployments.md): a pattern or a list of allowed values. */
const settableEnvSchema = z
  .strictObject({
    name: z.string().regex(ENV_NAME, "environment variable names are [A-Za-z_][A-Za-z0-9_]*").max(128),
    description: text("description", { max: 500, notBlank: true, trim: true }),
    pattern: z
      .string()
      .min(1)
      .max(500)
      .refine(compiles, "pattern must be a valid regular expression")
      .optional()
      .describe("A regular expression the whole value must match"),
    allowed: z.array(z.string().max(500)).min(1).max(100).optional().describe("The values it may take"),
    secret: z.boolean().optional().describe("Never shown by GET; on AWS passed through Secrets Manager"),
  })
  .refine((s) => s.pattern !== undefined || s.allowed !== undefined, {
    message: "a settable variable needs a pattern or allowed values",
  })
  .meta({ id: "SettableEnv" });

/** The fields of each kind's entries, as POST /v1/catalog/entries takes them (beside `kind`). */
export const ENTRY_INPUT_SCHEMAS = {
  "artifact-types": z.strictObject({ name: catalogName, readableName }),
  "deployable-artifact-types": z.strictObject({
    name: catalogName,
    readableName,
    artifactType: reference("artifact type"),
  }),
  "artifact-processors": z.strictObject({
    name: catalogName,
    deployableArtifactType: reference("deployable artifact type"),
    modelType: reference("model type"),
    image,
    imageCredentialsArn,
    env: envSchema.optional().describe("Environment variables every run gets"),
  }),
  "model-types": z.strictObject({ name: catalogName, readableName }),
  runtimes: z.strictObject({
    name: catalogName,
    modelType: reference("model type"),
    image,
    imageCredentialsArn,
    healthPath,
    capabilities,
    env: envSchema.default({}),
    frameworks: z
      .array(text("framework", { min: 1, max: 128 }))
      .max(100)
      .default([]),
    settableEnv: z
      .array(settableEnvSchema)
      .max(50)
      .refine((list) => new Set(list.map((s) => s.name)).size === list.length, "each name once")
      .optional()
      .describe("Variables a deployment target may set in its `env`, over `env`"),
  }),
} as const satisfies Record<CatalogKind, z.ZodType>;

const NEW_ENTRY_IDS: Record<CatalogKind, string> = {
  "artifact-types": "NewArtifactType",
  "deployable-artifact-types": "NewDeployableArtifactType",
  "artifact-processors": "NewArtifactProcessor",
  "model-types": "NewModelType",
  runtimes: "NewRuntime",
};

/**
 * POST /v1/catalog/entries: an entry with its kind. The kind travels in the body, not the path, so
 * that the document states exactly which fields go with which kind (a path parameter cannot
 * select a body schema in OpenAPI).
 */
export const newCatalogEntrySchema = z
  .discriminatedUnion(
    "kind",
    CATALOG_KIND_NAMES.map((kind) =>
      ENTRY_INPUT_SCHEMAS[kind].extend({ kind: z.literal(kind) }).meta({ id: NEW_ENTRY_IDS[kind] }),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ id: "NewCatalogEntry" }) as unknown as z.ZodType<
  { [K in CatalogKind]: { kind: K } & z.output<(typeof ENTRY_INPUT_SCHEMAS)[K]> }[CatalogKind]
>;

/** User entries each kind may hold: the catalog is read whole to compose deployments. */
export const CATALOG_KIND_LIMITS: Readonly<Record<CatalogKind, number>> = {
  "artifact-types": 50,
  "deployable-artifact-types": 50,
  "artifact-processors": 50,
  "model-types": 50,
  runtimes: 100,
};

/** The references each kind makes to entries of other kinds (checked on POST). */
export const REFERENCES: {
  readonly [K in CatalogKind]: ReadonlyArray<readonly [field: string, kind: CatalogKind]>;
} = {
  "artifact-types": [],
  "deployable-artifact-types": [["artifactType", "artifact-types"]],
  "artifact-processors": [
    ["deployableArtifactType", "deployable-artifact-types"],
    ["modelType", "model-types"],
  ],
  "model-types": [],
  runtimes: [["modelType", "model-types"]],
};

const provenance = {
  builtIn: z.boolean().describe("Declared by Byom (lambdas/catalog/builtin.ts); cannot be overwritten"),
  createdAt: instant(),
  createdBy: z.string(),
};

const artifactTypeView = z
  .object({ name: z.string(), readableName: z.string(), ...provenance })
  .meta({ id: "CatalogArtifactType" });
const deployableView = z
  .object({ name: z.string(), readableName: z.string(), artifactType: z.string(), ...provenance })
  .meta({ id: "CatalogDeployableArtifactType" });
const processorView = z
  .object({
    name: z.string(),
    deployableArtifactType: z.string(),
    modelType: z.string(),
    image: z.string(),
    env: z.record(z.string(), z.string()).optional(),
    ...imageState,
    ...provenance,
  })
  .meta({ id: "CatalogArtifactProcessor" });
const modelTypeView = z
  .object({ name: z.string(), readableName: z.string(), ...provenance })
  .meta({ id: "CatalogModelType" });
const runtimeView = z
  .object({
    name: z.string(),
    modelType: z.string(),
    image: z.string(),
    env: z.record(z.string(), z.string()),
    settableEnv: z.array(settableEnvSchema).optional(),
    frameworks: z.array(z.string()),
    healthPath: z.string().optional(),
    capabilities: z.array(z.enum(RUNTIME_CAPABILITIES)).optional(),
    ...imageState,
    ...provenance,
  })
  .meta({ id: "CatalogRuntime" });

/** Any catalog entry as responses carry it; which fields it has depends on the kind. */
export const catalogEntryView = z
  .union([processorView, runtimeView, deployableView, artifactTypeView, modelTypeView])
  .meta({ id: "CatalogEntry" });

export const compositionSchema = z
  .object({
    deployableArtifactType: z.string(),
    processor: z.string(),
    modelType: z.string(),
    runtime: z.string(),
    frameworks: z.array(z.string()).describe("The frameworks the runtime serves"),
  })
  .meta({ id: "Composition" });
