/** Where reference datasets live and what they may be (no SDK here: the CDK app and routes load it). */
export const REFERENCE_PREFIX = "reference/";
export const REFERENCE_FORMATS = ["csv", "parquet"] as const;
export type ReferenceFormat = (typeof REFERENCE_FORMATS)[number];
/** Read whole into the drift function's memory: 512 MiB at most. */
export const MAX_REFERENCE_BYTES = 512 * 1024 ** 2;

export const referenceFolder = (projectId: string, modelId: string, version: number) =>
  `${REFERENCE_PREFIX}${projectId}/${modelId}/v${version}/`;
