import { S3Client } from "@aws-sdk/client-s3";

/**
 * The S3 client, created once per process. The endpoint comes from AWS_ENDPOINT_URL_S3 (local mode's
 * emulator), path-style addressing from BYOM_S3_FORCE_PATH_STYLE.
 */
export const s3 = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL_S3 || undefined,
  forcePathStyle: process.env.BYOM_S3_FORCE_PATH_STYLE === "true",
  // Checksums only when an operation requires them: presigned URLs must not demand headers the
  // uploader does not send.
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
