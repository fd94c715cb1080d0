import type * as SecretsSdk from "@aws-sdk/client-secrets-manager";
import { CATALOG_JOBS_PROJECT } from "#lambdas/jobs/job-kinds.ts";
import type { ChunkOutcome, JobChunk, JobFailureHandler } from "#lambdas/jobs/job-runner.ts";
import { startJob } from "#lambdas/jobs/jobs.ts";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { DomainError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { newId } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import type { ImageFields } from "./builtin.ts";
import { addCatalogEntry, type CatalogEntryView } from "./catalog.ts";
import { getEntry, replaceUserEntry } from "./catalog-repository.ts";
import type { CatalogEntry, CatalogKind } from "./entries.ts";
import { copyImage, type EcrDestination, hasImage, pinEcrImage, pinnedReference } from "./images/ecr-copy.ts";
import { ensureExecutionRole } from "./images/execution-role.ts";
import {
  formatReference,
  type ImageReference,
  ImageReferenceError,
  parseImageReference,
} from "./images/image-reference.ts";
import { type ImageImportSettings, imageImportSettings } from "./images/import-settings.ts";
import { ImageUnavailableError, OciRegistry, type RegistryCredentials } from "./images/oci-registry.ts";

// Loaded with require(), the cheaper load for a CommonJS SDK (lambdas/shared/aws-sdk.ts).
const { GetSecretValueCommand } = requireSdk("@aws-sdk/client-secrets-manager") as typeof SecretsSdk;

/**
 * Bringing a catalog entry's image into this account's ECR (docs/catalog.md, "Your own image"):
 * the VPC has no NAT, so tasks pull only from ECR over its endpoints. Adding the entry reads the
 * image's manifest (400 with the reason when it cannot be read) and pins its digest; a job outside
 * the VPC copies the blobs into `<prefix>/<registry>/<repository>` and marks the entry READY, or
 * FAILED with the reason. Deployments take only READY entries and name `repository@sha256:…`.
 */

/** What an entry records once its image is in ECR: the pinned image and the role that may pull it. */
async function readyImage(
  settings: ImageImportSettings,
  kind: CatalogKind,
  name: string,
  pinnedImage: string,
): Promise<Pick<ImageFields, "pinnedImage" | "imageStatus" | "executionRoleArn">> {
  const role = settings.executionRoles
    ? await ensureExecutionRole(settings.executionRoles, kind, name, pinnedImage)
    : undefined;
  return { pinnedImage, imageStatus: "READY", ...(role ? { executionRoleArn: role } : {}) };
}

/**
 * POST /v1/catalog/entries: on AWS a processor's or runtime's image is read first (400 when it
 * cannot be) and, unless ECR holds it already, copied by an import-image job after the entry is
 * recorded. Other kinds, and local mode (no ECR), add the entry as it is.
 */
export async function addCatalogEntryWithImage(
  caller: Caller,
  kind: CatalogKind,
  entry: CatalogEntry,
): Promise<CatalogEntryView> {
  const settings = imageImportSettings();
  if (!settings || (kind !== "artifact-processors" && kind !== "runtimes"))
    return addCatalogEntry(caller, kind, entry);
  const prepared = await prepareImage(settings, kind, entry as ImageFields & { name: string });
  if (!prepared.importJob) return addCatalogEntry(caller, kind, prepared.entry as CatalogEntry);
  // The entry names its job, so that clients can follow the copy (byom catalog add waits on it).
  const importJobId = newId("job");
  const added = await addCatalogEntry(caller, kind, { ...prepared.entry, importJobId } as CatalogEntry);
  await startJob(
    caller,
    CATALOG_JOBS_PROJECT,
    "import-image",
    prepared.importJob,
    `Copying the image of ${kind} '${entry.name}' into ECR`,
    importJobId,
  );
  return added;
}

export class ImageImportFailedError extends DomainError {
  readonly code = "IMAGE_IMPORT_FAILED";
}

/** The ECR repository an image is copied to: its registry and repository under the prefix. */
export function destinationOf(settings: ImageImportSettings, ref: ImageReference): EcrDestination {
  const registry = ref.registry.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");
  return {
    ecr: settings.ecr,
    registryHost: settings.registryHost,
    repositoryName: `${settings.repositoryPrefix}/${registry}/${ref.repository}`.slice(0, 256),
  };
}

/** Credentials for the source registry: the entry's secret, or none (anonymous). */
async function credentialsFor(
  settings: ImageImportSettings,
  entry: ImageFields,
): Promise<RegistryCredentials | undefined> {
  if (entry.imageCredentialsArn) {
    let text: string | undefined;
    try {
      const out = await settings.secrets.send(
        new GetSecretValueCommand({ SecretId: entry.imageCredentialsArn }),
      );
      text = out.SecretString;
    } catch (error) {
      throw new ImageUnavailableError(
        `The secret ${entry.imageCredentialsArn} cannot be read (${(error as Error).name}): the catalog may read secrets whose name starts byom-registry/ (docs/catalog.md).`,
      );
    }
    try {
      const parsed = JSON.parse(text ?? "") as { username?: unknown; password?: unknown };
      if (typeof parsed.username === "string" && typeof parsed.password === "string")
        return { username: parsed.username, password: parsed.password };
    } catch {}
    throw new ImageUnavailableError(
      `The secret ${entry.imageCredentialsArn} must hold JSON {"username": "...", "password": "..."}.`,
    );
  }
  return undefined;
}

export interface PreparedImage<E extends ImageFields> {
  readonly entry: E;
  /** Set when the blobs still have to be copied: the import job's input. */
  readonly importJob?: { readonly kind: CatalogKind; readonly name: string; readonly digest: string };
}

/**
 * Reads the entry's image manifest and pins its digest. Throws ValidationFailedError (400) saying
 * why when the reference is malformed, the registry unreachable, the image absent or refused.
 */
export async function prepareImage<E extends ImageFields & { name: string }>(
  settings: ImageImportSettings,
  kind: CatalogKind,
  entry: E,
): Promise<PreparedImage<E>> {
  const fail = (message: string): never => {
    throw new ValidationFailedError(`The image cannot be brought into this account's ECR: ${message}`, [
      { path: "body.image", message },
    ]);
  };
  let ref: ImageReference;
  try {
    ref = parseImageReference(entry.image);
  } catch (error) {
    if (error instanceof ImageReferenceError) return fail(error.message);
    throw error;
  }
  try {
    if (ref.registry === settings.registryHost) {
      // Already in this account's ECR (another entry's pinnedImage, or your own repository): pinned
      // where it is, nothing copied; the entry's role pulls that repository.
      const pinnedImage = await pinEcrImage(settings.ecr, settings.registryHost, entry.image);
      return { entry: { ...entry, ...(await readyImage(settings, kind, entry.name, pinnedImage)) } };
    }
    const registry = new OciRegistry(ref, await credentialsFor(settings, entry));
    const manifest = await registry.manifest();
    const to = destinationOf(settings, ref);
    const pinnedImage = pinnedReference(to, manifest.digest);
    if (await hasImage(to, manifest.digest))
      return { entry: { ...entry, ...(await readyImage(settings, kind, entry.name, pinnedImage)) } };
    return {
      entry: {
        ...entry,
        imageStatus: "IMPORTING",
        imageStatusReason: `Copying ${formatReference({ ...ref, digest: manifest.digest })} into ECR.`,
      },
      importJob: { kind, name: entry.name, digest: manifest.digest },
    };
  } catch (error) {
    if (error instanceof ImageUnavailableError) return fail(error.message);
    throw error;
  }
}

/**
 * The `import-image` job: copies the pinned manifest's blobs into ECR (resuming across chunks, as
 * ECR keeps the blobs already copied), then records the entry READY, or FAILED with the reason.
 */
export async function runImageImport(chunk: JobChunk): Promise<ChunkOutcome> {
  const settings = imageImportSettings();
  if (!settings) throw new Error("IMAGE_REGISTRY is not set: this installation imports no images.");
  const { kind, name, digest } = chunk.job.input as { kind: CatalogKind; name: string; digest: string };
  const record = await getEntry(kind, name);
  const progress = (message: string) => ({ done: 0, total: null, message });
  if (!record)
    return { done: true, result: { skipped: "the entry was deleted" }, progress: progress("gone") };
  const entry = record.entry as ImageFields & { name: string };
  try {
    const ref = { ...parseImageReference(entry.image), digest };
    const registry = new OciRegistry(ref, await credentialsFor(settings, entry));
    const manifest = await registry.manifest();
    const to = destinationOf(settings, ref);
    const copied = await copyImage(registry, manifest, to, chunk.hasTime);
    if (!copied)
      return { done: false, state: { chunk: chunk.job.chunks + 1 }, progress: progress("copying blobs") };
    const pinnedImage = pinnedReference(to, manifest.digest);
    const { imageStatusReason: _reason, ...rest } = entry;
    await replaceUserEntry(kind, {
      ...rest,
      ...(await readyImage(settings, kind, name, pinnedImage)),
    } as never);
    logger.info("image imported", { kind, name, pinnedImage });
    return { done: true, result: { pinnedImage }, progress: progress(`imported as ${pinnedImage}`) };
  } catch (error) {
    // A registry that is down or busy may answer the next delivery: the worker retries, and its
    // last attempt fails the job (recordImageImportFailure then fails the entry).
    if (error instanceof ImageUnavailableError && !error.transient)
      throw new ImageImportFailedError(error.message);
    if (error instanceof ImageReferenceError) throw new ImageImportFailedError(error.message);
    throw error;
  }
}

/**
 * An import job ended FAILED (the image cannot be copied, the registry failed every delivery, the
 * job stalled): its entry, still IMPORTING, becomes FAILED with the job's reason, never stuck.
 */
export const recordImageImportFailure: JobFailureHandler = async (job, error) => {
  const { kind, name } = job.input as { kind: CatalogKind; name: string };
  const record = await getEntry(kind, name);
  const entry = record?.entry as (ImageFields & { name: string }) | undefined;
  if (entry?.imageStatus !== "IMPORTING") return;
  const reason =
    error.code === "IMAGE_IMPORT_FAILED"
      ? error.message
      : `The import job ${job.jobId} failed: ${error.message} To try again, delete the entry and add it again.`;
  await replaceUserEntry(kind, { ...entry, imageStatus: "FAILED", imageStatusReason: reason } as never);
  logger.warn("image import failed", { kind, name, reason });
};
