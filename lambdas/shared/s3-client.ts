import type { S3Client } from "@aws-sdk/client-s3";

type S3Sdk = typeof import("@aws-sdk/client-s3");

let loaded: Promise<{ readonly sdk: S3Sdk; readonly client: S3Client }> | undefined;

/**
 * The S3 SDK and its client, loaded on first use and created once per process: a handler pays for
 * loading the S3 SDK only on the paths that talk to S3, not at cold start (docs/benchmarks.md). The
 * endpoint comes from AWS_ENDPOINT_URL_S3 (local mode's emulator), path-style addressing from
 * BYOM_S3_FORCE_PATH_STYLE.
 */
export function s3Sdk(): Promise<{ readonly sdk: S3Sdk; readonly client: S3Client }> {
  loaded ??= import("@aws-sdk/client-s3").then((sdk) => ({
    sdk,
    client: new sdk.S3Client({
      endpoint: process.env.AWS_ENDPOINT_URL_S3 || undefined,
      forcePathStyle: process.env.BYOM_S3_FORCE_PATH_STYLE === "true",
      // Checksums only when an operation requires them: presigned URLs must not demand headers the
      // uploader does not send.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }),
  }));
  return loaded;
}

/** The presigner, loaded on first use like the SDK. */
export async function presignerOf(): Promise<typeof import("@aws-sdk/s3-request-presigner")> {
  return import("@aws-sdk/s3-request-presigner");
}
