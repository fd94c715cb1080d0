import { parse } from "csv-parse/sync";
import { parquetReadObjects } from "hyparquet";
import { getModelVersion } from "#lambdas/models/models.ts";
import {
  MAX_REFERENCE_BYTES,
  type ReferenceFormat,
  referenceFolder,
} from "#lambdas/monitoring/reference-dataset-keys.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { requireEnv } from "#lambdas/shared/env.ts";
import { PayloadTooLargeError } from "#lambdas/shared/errors.ts";
import { presignerOf, s3Sdk } from "#lambdas/shared/s3-client.ts";

/**
 * A model version's reference dataset (docs/monitoring.md): a CSV or Parquet file attached after
 * registration, the version's drift baseline. It is not part of the model: the version's record
 * stays as registered; the file lives at a key derived from the version, and attaching again
 * replaces it.
 */
const UPLOAD_TTL_SECONDS = 3600;
const referenceKey = (projectId: string, modelId: string, version: number, format: ReferenceFormat) =>
  `${referenceFolder(projectId, modelId, version)}dataset.${format}`;

export interface ReferenceUpload {
  readonly modelId: string;
  readonly version: number;
  readonly format: ReferenceFormat;
  readonly objectKey: string;
  readonly upload: { readonly method: "PUT"; readonly url: string; readonly headers: Record<string, string> };
  readonly expiresAt: string;
}

export async function attachReferenceDataset(
  caller: Caller,
  projectId: string,
  modelId: string,
  version: number,
  input: { format: ReferenceFormat; sizeBytes: number },
): Promise<ReferenceUpload> {
  await authorize(caller, projectId, "editor");
  await getModelVersion(projectId, modelId, version); // 404 for a version that does not exist
  if (input.sizeBytes > MAX_REFERENCE_BYTES)
    throw new PayloadTooLargeError(
      `A reference dataset may have at most ${MAX_REFERENCE_BYTES} bytes; sample it down (a few hundred thousand rows describe a distribution well).`,
    );
  const { sdk, client } = await s3Sdk();
  const bucket = requireEnv("BUCKET_NAME");
  const key = referenceKey(projectId, modelId, version, input.format);
  const contentType = input.format === "csv" ? "text/csv" : "application/vnd.apache.parquet";
  const { getSignedUrl } = await presignerOf();
  const url = await getSignedUrl(
    client,
    new sdk.PutObjectCommand({
      Bucket: bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: input.sizeBytes,
    }),
    { expiresIn: UPLOAD_TTL_SECONDS },
  );
  return {
    modelId,
    version,
    format: input.format,
    objectKey: key,
    upload: { method: "PUT", url, headers: { "content-type": contentType } },
    expiresAt: new Date(Date.now() + UPLOAD_TTL_SECONDS * 1000).toISOString(),
  };
}

/** The version's reference rows, column by column, or undefined when none is attached. */
export async function referenceColumns(
  projectId: string,
  modelId: string,
  version: number,
): Promise<{ rows: number; columns: Map<string, unknown[]> } | undefined> {
  const { sdk, client } = await s3Sdk();
  const bucket = requireEnv("BUCKET_NAME");
  const listed = await client.send(
    new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: referenceFolder(projectId, modelId, version) }),
  );
  // One dataset per version: the one uploaded last, whatever its format.
  const key = (listed.Contents ?? [])
    .filter((o) => /\/dataset\.(csv|parquet)$/.test(o.Key ?? ""))
    .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))[0]?.Key;
  if (!key) return undefined;
  const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  const records: Record<string, unknown>[] = key.endsWith(".csv")
    ? (parse(Buffer.from(bytes), { columns: true, skip_empty_lines: true, bom: true }) as Record<
        string,
        unknown
      >[])
    : await parquetReadObjects({
        file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      });
  const columns = new Map<string, unknown[]>();
  records.forEach((record, i) => {
    for (const [name, value] of Object.entries(record)) {
      let column = columns.get(name);
      if (!column) {
        column = new Array<unknown>(i).fill(null);
        columns.set(name, column);
      }
      column.push(plain(value));
    }
    for (const column of columns.values()) if (column.length < i + 1) column.push(null);
  });
  return { rows: records.length, columns };
}

/** Parquet's INT64 comes as bigint and timestamps as Dates; CSV's empty cells mean missing. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Date) return value.getTime();
  if (value === "") return null;
  return value;
}
