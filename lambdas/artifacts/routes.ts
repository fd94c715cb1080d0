import * as z from "zod";
import { experimentIdParam } from "#lambdas/experiments/routes.ts";
import { jobAccepted } from "#lambdas/jobs/routes.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import {
  conflictError,
  errorBody,
  idParam,
  listQuery,
  pageOf,
  standardErrors,
  text,
} from "#lambdas/shared/http/schemas.ts";
import { ARTIFACT_STATUSES, MAX_ARTIFACT_BYTES } from "./artifact-limits.ts";

export const artifactIdParam = idParam("art");
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const PLAIN_FILE_NAME = /^[^/\\\u0000-\u001f\u007f]+$/;

const modelDescriptionSchema = z
  .object({
    flavors: z.array(z.string()),
    framework: z.string().describe("The native MLflow flavor (sklearn, xgboost …), or python_function"),
    pythonVersion: z.string().nullable(),
    loaderModule: z.string().nullable().describe("python_function.loader_module"),
    mlflowVersion: z.string().nullable(),
    mlmodelPath: z.string().describe("Where MLmodel was found inside the zip"),
    hasSignature: z.boolean(),
  })
  .meta({ id: "ModelDescription" });

export const artifactSchema = z
  .object({
    artifactId: z.string(),
    projectId: z.string(),
    experimentId: z.string(),
    type: z.string(),
    fileName: z.string(),
    sizeBytes: z.int(),
    sha256: z.string().nullable().describe("Verified SHA-256 (hex) once ingested; the declared one before"),
    framework: z.string().nullable(),
    status: z.enum(ARTIFACT_STATUSES),
    failureReason: z.string().nullable(),
    notices: z.array(z.string()).describe("What to do before this artifact can be deployed, if anything"),
    model: modelDescriptionSchema.nullable().describe("What ingestion read from an MLflow model's MLmodel"),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Artifact" });

const uploadSchema = z
  .union([
    z.object({
      method: z.literal("PUT"),
      url: z.string(),
      headers: z.record(z.string(), z.string()).describe("Send these headers with the PUT, unchanged"),
    }),
    z.object({
      multipart: z.object({
        uploadId: z.string(),
        partSizeBytes: z.int(),
        parts: z.array(z.object({ partNumber: z.int(), url: z.string() })),
      }),
    }),
  ])
  .meta({ id: "ArtifactUpload" });

const experimentParams = z.object({ projectId: projectIdParam, experimentId: experimentIdParam });
const artifactParams = experimentParams.extend({ artifactId: artifactIdParam });
const base = "/v1/projects/{projectId}/experiments/{experimentId}/artifacts";
const handlers = "lambdas/artifacts/handlers";

export const createArtifactRoute = defineRoute({
  operationId: "createArtifact",
  method: "POST",
  path: base,
  summary: "Create an artifact and get presigned upload URL(s) for its bytes (editors)",
  tag: "artifacts",
  handler: `${handlers}/create-artifact.ts`,
  params: experimentParams,
  body: z
    .strictObject({
      type: text("type", { max: 200, notBlank: true, trim: true }).describe(
        "An artifact type of the catalog, e.g. python/mlflow",
      ),
      fileName: text("fileName", { min: 1, max: 255 }).regex(
        PLAIN_FILE_NAME,
        "fileName must be a plain file name (no slashes or control characters)",
      ),
      sizeBytes: z
        .int()
        .min(1, "sizeBytes must be at least 1: an empty file is not a model")
        .max(
          MAX_ARTIFACT_BYTES,
          `sizeBytes must be at most ${MAX_ARTIFACT_BYTES} (5 TiB, S3's object limit)`,
        ),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, "sha256 must be 64 hexadecimal characters")
        .optional()
        .describe("SHA-256 of the file (hex); S3 and ingestion verify it"),
      framework: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, "framework must be a library name such as sklearn or xgboost")
        .optional()
        .describe("Required for python/pickle: the library that wrote the file"),
    })
    .meta({
      // What checkArtifactType requires, stated in the document too: not a pickle, or a framework.
      anyOf: [
        { not: { properties: { type: { const: "python/pickle" } }, required: ["type"] } },
        { required: ["framework"] },
      ],
    }),
  responses: {
    201: {
      description: "Created; upload the bytes as `upload` says",
      schema: z.object({ artifact: artifactSchema, upload: uploadSchema }),
    },
    ...standardErrors,
    409: {
      description: "The artifact type is not in the catalog (UNKNOWN_CATALOG_ENTRY)",
      schema: errorBody,
    },
  },
});

export const listArtifactsRoute = defineRoute({
  operationId: "listArtifacts",
  method: "GET",
  path: base,
  summary: "List an experiment's artifacts, oldest first",
  tag: "artifacts",
  handler: `${handlers}/list-artifacts.ts`,
  params: experimentParams,
  query: listQuery,
  responses: {
    200: { description: "A page of artifacts", schema: pageOf(artifactSchema) },
    ...standardErrors,
  },
});

export const getArtifactRoute = defineRoute({
  operationId: "getArtifact",
  method: "GET",
  path: `${base}/{artifactId}`,
  summary: "Show an artifact: status UPLOADING, INGESTING, READY or FAILED (with failureReason)",
  tag: "artifacts",
  handler: `${handlers}/get-artifact.ts`,
  params: artifactParams,
  responses: { 200: { description: "The artifact", schema: artifactSchema }, ...standardErrors },
});

export const completeArtifactRoute = defineRoute({
  operationId: "completeArtifactUpload",
  method: "POST",
  path: `${base}/{artifactId}/complete`,
  summary:
    "Finish a multipart upload with the ETag of every part, as a job whose result is the artifact (editors)",
  tag: "artifacts",
  handler: `${handlers}/complete-artifact.ts`,
  params: artifactParams,
  body: z.strictObject({
    parts: z
      .array(z.strictObject({ partNumber: z.int().min(1).max(10_000), etag: z.string().min(1).max(200) }))
      .min(1, "parts must list every uploaded part")
      .max(10_000),
  }),
  // S3 may take minutes to assemble a very large object (s3rver in local mode does, for GBs): more
  // than API Gateway waits, so the completion always runs as a job; ingestion follows it.
  responses: { ...jobAccepted, ...standardErrors, ...conflictError },
});

export const renewArtifactUploadRoute = defineRoute({
  operationId: "renewArtifactUpload",
  method: "POST",
  path: `${base}/{artifactId}/upload`,
  summary:
    "Fresh presigned upload URL(s) for an artifact still UPLOADING, to resume after the first ones expired (editors)",
  tag: "artifacts",
  handler: `${handlers}/renew-artifact-upload.ts`,
  params: artifactParams,
  responses: {
    200: {
      description: "Upload the remaining bytes as `upload` says (same multipart upload and part numbers)",
      schema: z
        .object({ upload: uploadSchema, expiresInSeconds: z.int() })
        .meta({ id: "ArtifactUploadRenewal" }),
    },
    ...standardErrors,
    ...conflictError,
  },
});

export const downloadArtifactRoute = defineRoute({
  operationId: "downloadArtifact",
  method: "GET",
  path: `${base}/{artifactId}/download`,
  summary: "A presigned GET URL of a READY artifact",
  tag: "artifacts",
  handler: `${handlers}/download-artifact.ts`,
  params: artifactParams,
  responses: {
    200: {
      description: "The URL",
      schema: z.object({ url: z.string(), expiresInSeconds: z.int() }).meta({ id: "ArtifactDownload" }),
    },
    ...standardErrors,
    ...conflictError,
  },
});

export const artifactRoutes = [
  createArtifactRoute,
  listArtifactsRoute,
  getArtifactRoute,
  completeArtifactRoute,
  renewArtifactUploadRoute,
  downloadArtifactRoute,
];
