import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { getExperiment } from "#lambdas/experiments/experiments-repository.ts";
import { type ArtifactPin, getVersion } from "#lambdas/models/models-repository.ts";
import { requireEnv } from "#lambdas/shared/env.ts";
import { parseArtifactObjectKey } from "#lambdas/shared/object-keys.ts";
import { s3Sdk } from "#lambdas/shared/s3-client.ts";

const BUCKET_NAME = requireEnv("BUCKET_NAME");

/** The bytes in the bucket are not the ones the model version pinned at registration. */
export class ArtifactMismatchError extends Error {
  override readonly name = "ArtifactMismatchError";
}

/**
 * Streams the artifact a model version pinned from the bucket to a file (on the models volume):
 * never held in memory, and exactly the pinned object (docs/data-model.md, "Versions are immutable").
 */
export async function downloadArtifact(objectKey: string, destination: string): Promise<number> {
  return downloadPinnedObject(await pinOf(objectKey), objectKey, destination);
}

/** The pin of the version whose experiment owns this artifact object. */
async function pinOf(objectKey: string): Promise<ArtifactPin> {
  const ref = parseArtifactObjectKey(objectKey);
  const claim = ref && (await getExperiment(ref.projectId, ref.experimentId))?.registeredAs;
  const version =
    ref && claim?.version !== undefined
      ? await getVersion(ref.projectId, claim.modelId, claim.version)
      : undefined;
  if (!version?.artifact) {
    throw new ArtifactMismatchError(
      `${objectKey} is not the pinned artifact of a registered model version (a version registered before artifacts were pinned, or one without a READY artifact). Register the experiment's model again as a new version and deploy that.`,
    );
  }
  return version.artifact;
}

/**
 * A conditional GET of exactly the pinned object: its version id where the bucket keeps versions,
 * `If-Match` on its ETag always; then the streamed bytes' SHA-256 and size are checked against
 * the pin. Anything else (the object replaced, deleted or corrupted) is refused, never staged.
 */
export async function downloadPinnedObject(
  pin: ArtifactPin,
  objectKey: string,
  destination: string,
): Promise<number> {
  if (pin.objectKey !== objectKey) {
    throw new ArtifactMismatchError(
      `The deployment asked for ${objectKey}, but the model version pins artifact ${pin.artifactId} (${pin.objectKey}). Deploy the version again.`,
    );
  }
  const { sdk, client } = await s3Sdk();
  let out: GetObjectCommandOutput;
  try {
    out = await client.send(
      new sdk.GetObjectCommand({
        Bucket: BUCKET_NAME,
        Key: pin.objectKey,
        IfMatch: `"${pin.etag}"`,
        ...(pin.versionId ? { VersionId: pin.versionId } : {}),
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (
      status === 412 ||
      status === 404 ||
      ["PreconditionFailed", "NoSuchKey", "NoSuchVersion"].includes(name)
    ) {
      throw new ArtifactMismatchError(
        `The pinned object of artifact ${pin.artifactId} (ETag ${pin.etag}${pin.versionId ? `, version ${pin.versionId}` : ""}) is no longer in the bucket as registered (${name}): the model bytes were replaced or removed outside Byom. Nothing was staged; upload the model again as a new experiment and version.`,
      );
    }
    throw error;
  }
  if (!out.Body) throw new Error(`s3://${BUCKET_NAME}/${pin.objectKey} has no body`);
  const hash = createHash("sha256");
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(out.Body as Readable, measure, createWriteStream(destination));
  const sha256 = hash.digest("hex");
  if (sha256 !== pin.sha256 || bytes !== pin.sizeBytes) {
    throw new ArtifactMismatchError(
      `Artifact ${pin.artifactId} read back as ${bytes} bytes with SHA-256 ${sha256}, but the version pinned ${pin.sizeBytes} bytes with SHA-256 ${pin.sha256}. The staged copy is not used; upload the model again as a new experiment and version.`,
    );
  }
  return bytes;
}
