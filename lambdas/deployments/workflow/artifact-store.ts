import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { requireEnv } from "#lambdas/shared/env.ts";
import { s3 } from "#lambdas/shared/s3-client.ts";

const BUCKET_NAME = requireEnv("BUCKET_NAME");

/** Streams an artifact from the bucket to a file (on the models volume): never held in memory. */
export async function downloadArtifact(objectKey: string, destination: string): Promise<number> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET_NAME, Key: objectKey }));
  if (!out.Body) throw new Error(`s3://${BUCKET_NAME}/${objectKey} has no body`);
  await pipeline(out.Body as Readable, createWriteStream(destination));
  return out.ContentLength ?? 0;
}
