import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { UnknownCatalogEntryError } from "#lambdas/catalog/catalog-errors.ts";
import { ExperimentNotFoundError } from "#lambdas/experiments/experiments.ts";
import { getExperiment } from "#lambdas/experiments/experiments-repository.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import { artifactObjectKey } from "#lambdas/shared/object-keys.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { findArtifact, requireUnregisteredExperiment } from "./artifact-lookup.ts";
import {
  type PresignedPut,
  presignGet,
  presignPut,
  presignUploadPart,
  startMultipartUpload,
} from "./artifact-objects.ts";
import {
  type ArtifactRecord,
  type ArtifactRef,
  getArtifact,
  listArtifacts as listArtifactItems,
  putNewArtifact,
  type UploadPlan,
} from "./artifacts-repository.ts";
import { knownArtifactTypes } from "./catalog-lookup.ts";

export {
  ArtifactNotFoundError,
  checkPartList,
  findArtifact,
  requireUnregisteredExperiment,
} from "./artifact-lookup.ts";

const MiB = 1024 ** 2;
/** S3's limits: 10,000 parts, 5 GiB per part (5 TiB per object: MAX_ARTIFACT_BYTES). */
const MAX_PART_BYTES = 5 * 1024 ** 3;
/**
 * Part counts are kept near 1,000 (not S3's 10,000) so that the presigned part URLs of even a 5 TiB
 * artifact fit in one API response (about 0.7 MB) well under Lambda's 6 MB response limit.
 */
const TARGET_MAX_PARTS = 1000;

/** Above this size an upload is multipart (env BYOM_MULTIPART_THRESHOLD_BYTES; tests lower it). */
const MULTIPART_THRESHOLD_BYTES = Number(optionalEnv("BYOM_MULTIPART_THRESHOLD_BYTES", String(64 * MiB)));
/** The smallest part size (S3 needs ≥ 5 MiB except for the last part; tests lower it on s3rver). */
const MIN_PART_BYTES = Number(optionalEnv("BYOM_MULTIPART_PART_SIZE_BYTES", String(64 * MiB)));
const UPLOAD_URL_TTL_SECONDS = Number(optionalEnv("BYOM_UPLOAD_URL_TTL_SECONDS", "3600"));
const DOWNLOAD_URL_TTL_SECONDS = Number(optionalEnv("BYOM_DOWNLOAD_URL_TTL_SECONDS", "900"));

/** Artifact types whose upload must declare the framework that wrote the file. */
const FRAMEWORK_REQUIRED = new Set(["python/pickle"]);

/**
 * An artifact as the API shows it: the record without where and how its object is stored; `sha256`
 * is the verified one once ingested, the declared one before, else null.
 */
export type ArtifactView = Omit<
  ArtifactRecord,
  "declaredSha256" | "objectKey" | "upload" | "objectEtag" | "objectVersionId"
>;

export type UploadInstructions =
  | PresignedPut
  | {
      readonly multipart: {
        readonly uploadId: string;
        readonly partSizeBytes: number;
        readonly parts: Array<{ partNumber: number; url: string }>;
      };
    };

export interface NewArtifact {
  readonly type: string;
  readonly fileName: string;
  readonly sizeBytes: number;
  readonly sha256?: string | undefined;
  readonly framework?: string | undefined;
}

export class ArtifactNotReadyError extends ConflictError {
  constructor(artifact: ArtifactRecord) {
    super(
      artifact.status === "FAILED"
        ? `Artifact '${artifact.artifactId}' failed ingestion and cannot be downloaded: ${artifact.failureReason}`
        : `Artifact '${artifact.artifactId}' is ${artifact.status}, not READY. Wait until GET on it shows status READY.`,
      [{ message: "not ready", status: artifact.status }],
    );
  }
}

/**
 * Creates an artifact record and tells the caller where to put the bytes: one presigned PUT, or
 * presigned multipart part URLs for large files. Ingestion starts when S3 reports the object.
 */
export async function createArtifact(
  caller: Caller,
  projectId: string,
  experimentId: string,
  input: NewArtifact,
): Promise<{ artifact: ArtifactView; upload: UploadInstructions }> {
  await authorize(caller, projectId, "editor");
  await requireUnregisteredExperiment(projectId, experimentId);
  await checkArtifactType(input);
  const artifactId = newId("art");
  const objectKey = artifactObjectKey(projectId, experimentId, artifactId);
  const multipart = input.sizeBytes > MULTIPART_THRESHOLD_BYTES;
  const partSizeBytes = multipart ? partSizeFor(input.sizeBytes) : 0;
  const partCount = multipart ? Math.ceil(input.sizeBytes / partSizeBytes) : 0;
  const plan: UploadPlan = multipart
    ? { kind: "multipart", uploadId: await startMultipartUpload(objectKey), partSizeBytes, partCount }
    : { kind: "single" };
  const record = newArtifactRecord({ projectId, experimentId, artifactId }, input, plan, caller.principal);
  await putNewArtifact(record);
  return { artifact: artifactView(record), upload: await uploadInstructions(record) };
}

/** Creates an artifact record for bytes Byom writes itself (drop folder copies, MLflow imports). */
export async function createInternalArtifact(
  ref: ArtifactRef,
  input: NewArtifact,
  source: string,
  createdBy: string,
): Promise<ArtifactRecord> {
  const record = newArtifactRecord(ref, input, { kind: "internal", source }, createdBy);
  if (!(await putNewArtifact(record))) {
    const existing = await getArtifact(ref);
    if (existing) return existing;
  }
  return record;
}

export async function showArtifact(caller: Caller, ref: ArtifactRef): Promise<ArtifactView> {
  await authorize(caller, ref.projectId, "viewer");
  return artifactView(await findArtifact(ref));
}

export async function listArtifacts(
  caller: Caller,
  projectId: string,
  experimentId: string,
  page: PageRequest,
): Promise<Page<ArtifactView>> {
  await authorize(caller, projectId, "viewer");
  await requireExperiment(projectId, experimentId);
  const artifacts = await listArtifactItems(projectId, experimentId, page);
  return { items: artifacts.items.map(artifactView), nextCursor: artifacts.nextCursor };
}

/**
 * Fresh presigned URL(s) for an artifact whose bytes have not all arrived: an interrupted upload
 * resumes after its first URLs expired (they live UPLOAD_URL_TTL_SECONDS). Same multipart upload,
 * same part numbers; parts already uploaded stay uploaded.
 */
export async function renewArtifactUpload(
  caller: Caller,
  ref: ArtifactRef,
): Promise<{ upload: UploadInstructions; expiresInSeconds: number }> {
  await authorize(caller, ref.projectId, "editor");
  const artifact = await findArtifact(ref);
  if (artifact.status !== "UPLOADING") {
    throw new ConflictError(
      `Artifact '${ref.artifactId}' is ${artifact.status}: its bytes have arrived, there is nothing left to upload.`,
      [{ message: "not uploading", status: artifact.status }],
    );
  }
  await requireUnregisteredExperiment(ref.projectId, ref.experimentId);
  return { upload: await uploadInstructions(artifact), expiresInSeconds: UPLOAD_URL_TTL_SECONDS };
}

/** A presigned GET of a READY artifact. */
export async function artifactDownload(
  caller: Caller,
  ref: ArtifactRef,
): Promise<{ url: string; expiresInSeconds: number }> {
  await authorize(caller, ref.projectId, "viewer");
  const artifact = await findArtifact(ref);
  if (artifact.status !== "READY") throw new ArtifactNotReadyError(artifact);
  return {
    url: await presignGet(artifact.objectKey, artifact.fileName, DOWNLOAD_URL_TTL_SECONDS),
    expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS,
  };
}

export function artifactView(record: ArtifactRecord): ArtifactView {
  return {
    artifactId: record.artifactId,
    projectId: record.projectId,
    experimentId: record.experimentId,
    type: record.type,
    fileName: record.fileName,
    sizeBytes: record.sizeBytes,
    sha256: record.sha256 ?? record.declaredSha256,
    framework: record.framework,
    status: record.status,
    failureReason: record.failureReason,
    notices: record.notices,
    model: record.model,
    createdBy: record.createdBy,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The part size for a multipart upload: at least the configured size, at most ~1,000 parts. */
export function partSizeFor(sizeBytes: number): number {
  const needed = Math.ceil(sizeBytes / TARGET_MAX_PARTS);
  if (needed <= MIN_PART_BYTES) return MIN_PART_BYTES;
  return Math.min(MAX_PART_BYTES, Math.ceil(needed / MiB) * MiB);
}

function newArtifactRecord(ref: ArtifactRef, input: NewArtifact, plan: UploadPlan, createdBy: string) {
  const now = nowIso();
  return {
    ...ref,
    type: input.type,
    fileName: input.fileName,
    sizeBytes: input.sizeBytes,
    declaredSha256: input.sha256?.toLowerCase() ?? null,
    sha256: null,
    framework: input.framework ?? null,
    status: "UPLOADING",
    failureReason: null,
    notices: [],
    model: null,
    objectKey: artifactObjectKey(ref.projectId, ref.experimentId, ref.artifactId),
    upload: plan,
    objectEtag: null,
    objectVersionId: null,
    createdBy,
    createdAt: now,
    updatedAt: now,
  } satisfies ArtifactRecord;
}

async function uploadInstructions(record: ArtifactRecord): Promise<UploadInstructions> {
  const plan = record.upload;
  if (plan.kind !== "multipart") {
    return presignPut(
      record.objectKey,
      record.sizeBytes,
      record.declaredSha256 ?? undefined,
      UPLOAD_URL_TTL_SECONDS,
    );
  }
  const parts = await Promise.all(
    Array.from({ length: plan.partCount }, async (_, i) => ({
      partNumber: i + 1,
      url: await presignUploadPart(
        record.objectKey,
        plan.uploadId,
        i + 1,
        Math.min(plan.partSizeBytes, record.sizeBytes - i * plan.partSizeBytes),
        UPLOAD_URL_TTL_SECONDS,
      ),
    })),
  );
  return { multipart: { uploadId: plan.uploadId, partSizeBytes: plan.partSizeBytes, parts } };
}

async function requireExperiment(projectId: string, experimentId: string): Promise<void> {
  if (!(await getExperiment(projectId, experimentId)))
    throw new ExperimentNotFoundError(projectId, experimentId);
}

async function checkArtifactType(input: NewArtifact): Promise<void> {
  const known = await knownArtifactTypes(input.type);
  if (!known.includes(input.type)) {
    throw new UnknownCatalogEntryError(
      `Artifact type '${input.type}' is not in the catalog. Known types: ${known.join(", ")}. An installation admin adds new ones with POST /v1/catalog/entries.`,
      [{ path: "body.type", message: "unknown artifact type", known }],
    );
  }
  if (FRAMEWORK_REQUIRED.has(input.type) && !input.framework) {
    const frameworks = [...new Set(BUILTIN_CATALOG.runtimes.flatMap((r) => r.frameworks))];
    throw new ValidationFailedError(
      `A ${input.type} artifact needs "framework": the library that wrote the file (e.g. ${frameworks.join(", ")}). Byom never unpickles it to find out.`,
      [{ path: "body.framework", message: "required for this artifact type" }],
    );
  }
}
