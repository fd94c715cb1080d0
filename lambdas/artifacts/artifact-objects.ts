import { requireEnv } from "#lambdas/shared/env.ts";
import { presignerOf, s3Sdk } from "#lambdas/shared/s3-client.ts";

/**
 * The artifact bucket, as the artifact and ingest domains use it: presigned URLs for the bytes
 * users send and fetch (bytes never pass through a Lambda), multipart bookkeeping, ranged reads for
 * ingestion and server-side copies for the drop folder. The only module here that loads the S3 SDK,
 * and only when a function needs it (lambdas/shared/s3-client.ts).
 */
export const BUCKET_NAME = requireEnv("BUCKET_NAME");

/** S3's largest single-request copy; larger objects are copied part by part. */
const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
const COPY_PART_BYTES = 512 * 1024 ** 2;

export interface PresignedPut {
  readonly method: "PUT";
  readonly url: string;
  /** Headers the uploader must send exactly as given (they are part of the signature). */
  readonly headers: Record<string, string>;
}

/**
 * A presigned PutObject. `If-None-Match: *` makes the object write-once on S3 (a second upload to
 * the same artifact is refused, so a READY artifact's bytes cannot change underneath it); a declared
 * SHA-256 is signed as `x-amz-checksum-sha256`, so S3 itself rejects bytes that do not match it.
 */
export async function presignPut(
  key: string,
  sizeBytes: number,
  sha256Hex: string | undefined,
  ttlSeconds: number,
) {
  const { sdk, client } = await s3Sdk();
  const { getSignedUrl } = await presignerOf();
  const checksum = sha256Hex ? Buffer.from(sha256Hex, "hex").toString("base64") : undefined;
  const command = new sdk.PutObjectCommand({
    Bucket: BUCKET_NAME,
    Key: key,
    IfNoneMatch: "*",
    // Signed, so S3 refuses a body of any other length than the artifact declared.
    ContentLength: sizeBytes,
    ...(checksum ? { ChecksumSHA256: checksum } : {}),
  });
  const url = await getSignedUrl(client, command, {
    expiresIn: ttlSeconds,
    unhoistableHeaders: new Set(checksum ? ["x-amz-checksum-sha256"] : []),
  });
  const headers: Record<string, string> = { "if-none-match": "*" };
  if (checksum) headers["x-amz-checksum-sha256"] = checksum;
  return { method: "PUT", url, headers } satisfies PresignedPut;
}

export async function startMultipartUpload(key: string): Promise<string> {
  const { sdk, client } = await s3Sdk();
  const out = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key }));
  if (!out.UploadId) throw new Error(`S3 returned no UploadId for ${key}`);
  return out.UploadId;
}

export async function presignUploadPart(
  key: string,
  uploadId: string,
  partNumber: number,
  partBytes: number,
  ttlSeconds: number,
) {
  const { sdk, client } = await s3Sdk();
  const { getSignedUrl } = await presignerOf();
  return getSignedUrl(
    client,
    new sdk.UploadPartCommand({
      Bucket: BUCKET_NAME,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      // Signed: each part is exactly the size the upload plan gives it.
      ContentLength: partBytes,
    }),
    { expiresIn: ttlSeconds },
  );
}

export type CompleteOutcome =
  | { readonly kind: "completed"; readonly etag: string }
  | { readonly kind: "invalid-parts"; readonly reason: string }
  | { readonly kind: "no-such-upload" };

export async function completeMultipartUpload(
  key: string,
  uploadId: string,
  parts: ReadonlyArray<{ partNumber: number; etag: string }>,
): Promise<CompleteOutcome> {
  const { sdk, client } = await s3Sdk();
  try {
    const out = await client.send(
      new sdk.CompleteMultipartUploadCommand({
        Bucket: BUCKET_NAME,
        Key: key,
        UploadId: uploadId,
        // Write-once, as for single uploads.
        IfNoneMatch: "*",
        MultipartUpload: {
          Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: quoteEtag(p.etag) })),
        },
      }),
    );
    return { kind: "completed", etag: unquoteEtag(out.ETag ?? "") };
  } catch (error) {
    const name = (error as Error).name;
    if (name === "NoSuchUpload") return { kind: "no-such-upload" };
    if (["InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"].includes(name)) {
      return { kind: "invalid-parts", reason: `${name}: ${(error as Error).message}` };
    }
    throw error;
  }
}

export async function abortMultipartUpload(key: string, uploadId: string): Promise<void> {
  const { sdk, client } = await s3Sdk();
  try {
    await client.send(
      new sdk.AbortMultipartUploadCommand({ Bucket: BUCKET_NAME, Key: key, UploadId: uploadId }),
    );
  } catch (error) {
    if ((error as Error).name !== "NoSuchUpload") throw error;
  }
}

/** Deletes an object; deleting one that is not there is not an error (S3 answers 204 either way). */
export async function deleteObject(key: string): Promise<void> {
  const { sdk, client } = await s3Sdk();
  await client.send(new sdk.DeleteObjectCommand({ Bucket: BUCKET_NAME, Key: key }));
}

/** Deletes up to 1,000 objects in one request; missing ones are not an error. */
export async function deleteObjects(keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const { sdk, client } = await s3Sdk();
  const out = await client.send(
    new sdk.DeleteObjectsCommand({
      Bucket: BUCKET_NAME,
      Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
    }),
  );
  const failed = out.Errors ?? [];
  if (failed.length > 0) {
    throw new Error(
      `S3 could not delete ${failed.length} object(s), e.g. ${failed[0]?.Key}: ${failed[0]?.Code}`,
    );
  }
}

export async function presignGet(key: string, fileName: string, ttlSeconds: number): Promise<string> {
  const { sdk, client } = await s3Sdk();
  const { getSignedUrl } = await presignerOf();
  return getSignedUrl(
    client,
    new sdk.GetObjectCommand({
      Bucket: BUCKET_NAME,
      Key: key,
      ResponseContentDisposition: `attachment; filename="${fileName.replace(/["\\\r\n]/g, "_")}"`,
    }),
    { expiresIn: ttlSeconds },
  );
}

export interface ObjectHead {
  readonly size: number;
  readonly etag: string;
  readonly versionId: string | undefined;
  /** The full-object SHA-256 (hex) when S3 verified one at upload time. */
  readonly sha256: string | undefined;
}

/** HeadObject, or undefined when the object does not exist (any more). */
export async function headObject(key: string): Promise<ObjectHead | undefined> {
  const { sdk, client } = await s3Sdk();
  try {
    const out = await client.send(
      new sdk.HeadObjectCommand({ Bucket: BUCKET_NAME, Key: key, ChecksumMode: "ENABLED" }),
    );
    const fullObject = out.ChecksumSHA256 && (out.ChecksumType ?? "FULL_OBJECT") === "FULL_OBJECT";
    return {
      size: out.ContentLength ?? 0,
      etag: unquoteEtag(out.ETag ?? ""),
      versionId: out.VersionId,
      sha256: fullObject ? Buffer.from(out.ChecksumSHA256 as string, "base64").toString("hex") : undefined,
    };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Bytes [start, end] (inclusive) of an object, pinned to the etag seen by HeadObject so a
 * concurrent overwrite cannot mix two objects. Explicit ranges only: s3rver answers suffix ranges
 * (`bytes=-N`) wrongly.
 */
export async function readRange(key: string, etag: string, start: number, end: number): Promise<Buffer> {
  const { sdk, client } = await s3Sdk();
  const out = await client.send(
    new sdk.GetObjectCommand({
      Bucket: BUCKET_NAME,
      Key: key,
      Range: `bytes=${start}-${end}`,
      IfMatch: quoteEtag(etag),
    }),
  );
  if (!out.Body) throw new Error(`S3 returned no body for ${key} bytes ${start}-${end}`);
  const array = await out.Body.transformToByteArray();
  const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  if (bytes.length !== end - start + 1) {
    throw new Error(`S3 returned ${bytes.length} bytes for ${key} bytes=${start}-${end}`);
  }
  return bytes;
}

/** Server-side copy within the bucket (multipart copy above S3's 5 GiB single-copy limit). */
export async function copyObject(sourceKey: string, sourceEtag: string, size: number, targetKey: string) {
  const { sdk, client } = await s3Sdk();
  const source = `${BUCKET_NAME}/${encodeURIComponent(sourceKey).replace(/%2F/g, "/")}`;
  if (size <= MAX_SINGLE_COPY_BYTES) {
    await client.send(
      new sdk.CopyObjectCommand({
        Bucket: BUCKET_NAME,
        Key: targetKey,
        CopySource: source,
        CopySourceIfMatch: quoteEtag(sourceEtag),
      }),
    );
    return;
  }
  const uploadId = await startMultipartUpload(targetKey);
  try {
    const parts: Array<{ partNumber: number; etag: string }> = [];
    for (let start = 0, partNumber = 1; start < size; start += COPY_PART_BYTES, partNumber++) {
      const end = Math.min(size, start + COPY_PART_BYTES) - 1;
      const out = await client.send(
        new sdk.UploadPartCopyCommand({
          Bucket: BUCKET_NAME,
          Key: targetKey,
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: source,
          CopySourceIfMatch: quoteEtag(sourceEtag),
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      parts.push({ partNumber, etag: unquoteEtag(out.CopyPartResult?.ETag ?? "") });
    }
    const outcome = await completeMultipartUpload(targetKey, uploadId, parts);
    if (outcome.kind !== "completed")
      throw new Error(`multipart copy of ${sourceKey} failed: ${outcome.kind}`);
  } catch (error) {
    await abortMultipartUpload(targetKey, uploadId);
    throw error;
  }
}

/** A writer that streams bytes of unknown total length into one object (multipart above a part). */
export class StreamingObjectWriter {
  private uploadId: string | undefined;
  private readonly parts: Array<{ partNumber: number; etag: string }> = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly key: string,
    private readonly partBytes = 16 * 1024 ** 2,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= this.partBytes) await this.flushPart(this.partBytes);
  }

  /** Finishes the object; returns its etag. */
  async close(): Promise<string> {
    const { sdk, client } = await s3Sdk();
    if (this.uploadId === undefined) {
      const out = await client.send(
        new sdk.PutObjectCommand({ Bucket: BUCKET_NAME, Key: this.key, Body: Buffer.concat(this.pending) }),
      );
      return unquoteEtag(out.ETag ?? "");
    }
    if (this.pendingBytes > 0) await this.flushPart(this.pendingBytes);
    const outcome = await completeMultipartUpload(this.key, this.uploadId, this.parts);
    if (outcome.kind !== "completed") throw new Error(`upload of ${this.key} failed: ${outcome.kind}`);
    return outcome.etag;
  }

  async abort(): Promise<void> {
    if (this.uploadId !== undefined) await abortMultipartUpload(this.key, this.uploadId);
  }

  private async flushPart(bytes: number): Promise<void> {
    const all = Buffer.concat(this.pending);
    const body = all.subarray(0, bytes);
    this.pending = bytes < all.length ? [all.subarray(bytes)] : [];
    this.pendingBytes = all.length - bytes;
    this.uploadId ??= await startMultipartUpload(this.key);
    const { sdk, client } = await s3Sdk();
    const partNumber = this.parts.length + 1;
    const out = await client.send(
      new sdk.UploadPartCommand({
        Bucket: BUCKET_NAME,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: body,
      }),
    );
    this.parts.push({ partNumber, etag: unquoteEtag(out.ETag ?? "") });
  }
}

export function unquoteEtag(etag: string): string {
  return etag.replace(/"/g, "");
}

function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}

function isMissing(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return (
    name === "NotFound" ||
    name === "NoSuchKey" ||
    (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 404
  );
}
