import { createHash } from "node:crypto";
import type * as EcrSdk from "@aws-sdk/client-ecr";
import type { ECRClient } from "@aws-sdk/client-ecr";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import { parseImageReference } from "./image-reference.ts";
import {
  type Descriptor,
  type ImageManifest,
  ImageUnavailableError,
  type OciRegistry,
} from "./oci-registry.ts";

// Loaded with require(), the cheaper load for a CommonJS SDK (lambdas/shared/aws-sdk.ts).
const {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} = requireSdk("@aws-sdk/client-ecr") as typeof EcrSdk;

/**
 * Copies one image (manifest, config and layers) into a repository of this account's ECR through
 * the ECR API, so that tasks in the VPC (no NAT) pull it over the ECR endpoints. Blobs ECR already
 * has are skipped, so a copy that stopped resumes where it was.
 */

/** ECR's upload parts: at least 5 MiB but the last (docs: UploadLayerPart); kept well below its limit. */
const PART_BYTES = 8 * 1024 * 1024;

export interface EcrDestination {
  readonly ecr: ECRClient;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  readonly registryHost: string;
  readonly repositoryName: string;
}

/** `<registry>/<repository>@sha256:…`: what a task definition names. */
export const pinnedReference = (to: EcrDestination, digest: string) =>
  `${to.registryHost}/${to.repositoryName}@${digest}`;

/** Creates the repository if it is not there (immutable tags, scanned on push, encrypted). */
export async function ensureRepository(to: EcrDestination): Promise<void> {
  try {
    await to.ecr.send(
      new CreateRepositoryCommand({
        repositoryName: to.repositoryName,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: "AES256" },
        tags: [{ Key: "byom:catalog", Value: "image" }],
      }),
    );
  } catch (error) {
    if ((error as Error).name !== "RepositoryAlreadyExistsException") throw error;
  }
}

/** Whether the repository already holds the image with this manifest digest. */
export async function hasImage(to: EcrDestination, digest: string): Promise<boolean> {
  try {
    const out = await to.ecr.send(
      new DescribeImagesCommand({ repositoryName: to.repositoryName, imageIds: [{ imageDigest: digest }] }),
    );
    return (out.imageDetails ?? []).some((d) => d.imageDigest === digest);
  } catch (error) {
    if (["ImageNotFoundException", "RepositoryNotFoundException"].includes((error as Error).name))
      return false;
    throw error;
  }
}

/**
 * Copies the blobs ECR lacks, then puts the manifest under its own digest. Answers false when
 * `hasTime` ran out between blobs (call again: the blobs copied so far are kept).
 */
export async function copyImage(
  source: OciRegistry,
  manifest: ImageManifest,
  to: EcrDestination,
  hasTime: () => boolean = () => true,
): Promise<boolean> {
  await ensureRepository(to);
  const blobs = [manifest.config, ...manifest.layers];
  const missing = await missingBlobs(to, blobs);
  for (const blob of missing) {
    if (!hasTime()) return false;
    await copyBlob(source, blob, to);
  }
  try {
    await to.ecr.send(
      new PutImageCommand({
        repositoryName: to.repositoryName,
        imageManifest: manifest.bytes.toString("utf8"),
        imageManifestMediaType: manifest.mediaType,
        imageDigest: manifest.digest,
        // Tags are immutable here and name the digest: a moving upstream tag never moves this one.
        imageTag: manifest.digest.replace(":", "-"),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== "ImageAlreadyExistsException") throw error;
  }
  return true;
}

async function missingBlobs(to: EcrDestination, blobs: readonly Descriptor[]): Promise<Descriptor[]> {
  const missing: Descriptor[] = [];
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  for (let i = 0; i < unique.length; i += 100) {
    const batch = unique.slice(i, i + 100);
    const out = await to.ecr.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: to.repositoryName,
        layerDigests: batch.map((b) => b.digest),
      }),
    );
    const available = new Set(
      (out.layers ?? []).filter((l) => l.layerAvailability === "AVAILABLE").map((l) => l.layerDigest),
    );
    missing.push(...batch.filter((b) => !available.has(b.digest)));
  }
  return missing;
}

/** Streams one blob from the registry into an ECR layer upload, checking its digest on the way. */
async function copyBlob(source: OciRegistry, blob: Descriptor, to: EcrDestination): Promise<void> {
  const { uploadId } = await to.ecr.send(
    new InitiateLayerUploadCommand({ repositoryName: to.repositoryName }),
  );
  const hash = createHash("sha256");
  let sent = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const part = Buffer.concat(pending, pendingBytes);
    await to.ecr.send(
      new UploadLayerPartCommand({
        repositoryName: to.repositoryName,
        uploadId,
        partFirstByte: sent,
        partLastByte: sent + part.length - 1,
        layerPartBlob: part,
      }),
    );
    sent += part.length;
    pending = [];
    pendingBytes = 0;
  };
  const reader = (await source.blob(blob.digest)).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    pending.push(Buffer.from(value));
    pendingBytes += value.length;
    if (pendingBytes >= PART_BYTES) await flush();
  }
  await flush();
  const digest = `sha256:${hash.digest("hex")}`;
  if (digest !== blob.digest || sent !== blob.size) {
    throw new ImageUnavailableError(
      `Blob ${blob.digest} arrived as ${sent} bytes with digest ${digest} (the manifest says ${blob.size} bytes): the registry sent something else.`,
    );
  }
  await to.ecr.send(
    new CompleteLayerUploadCommand({
      repositoryName: to.repositoryName,
      uploadId,
      layerDigests: [blob.digest],
    }),
  );
}

/**
 * `repository@sha256:…` of an image already in this account's ECR (a built-in's asset, named by
 * tag): what task definitions name, so a re-pushed tag never changes a deployed image.
 */
export async function pinEcrImage(ecr: ECRClient, registryHost: string, uri: string): Promise<string> {
  const ref = parseImageReference(uri);
  if (ref.registry !== registryHost)
    throw new ImageUnavailableError(`${uri} is not in this account's ECR (${registryHost}).`);
  const out = await ecr
    .send(
      new DescribeImagesCommand({
        repositoryName: ref.repository,
        imageIds: [ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag ?? "latest" }],
      }),
    )
    .catch((error: Error) => {
      if (["ImageNotFoundException", "RepositoryNotFoundException"].includes(error.name))
        throw new ImageUnavailableError(
          `ECR has no image ${uri} (${error.name}). Check the repository and tag.`,
        );
      throw error;
    });
  const digest = out.imageDetails?.[0]?.imageDigest;
  if (!digest) throw new ImageUnavailableError(`ECR has no image ${uri}.`);
  return `${registryHost}/${ref.repository}@${digest}`;
}
