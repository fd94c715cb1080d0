/**
 * Declarations shared by the route schemas and the artifacts domain. Free of work at load (no
 * environment, no clients), because route modules are read by `cdk synth` and the OpenAPI handler.
 */
export const ARTIFACT_STATUSES = ["UPLOADING", "INGESTING", "READY", "FAILED"] as const;
export type ArtifactStatus = (typeof ARTIFACT_STATUSES)[number];

/** S3's limit: 5 TiB per object. */
export const MAX_ARTIFACT_BYTES = 5 * 1024 ** 4;
