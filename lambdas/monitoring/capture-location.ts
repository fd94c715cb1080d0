import { join } from "node:path";
import type { StepSetting } from "#lambdas/deployments/serving-contract.ts";
import { optionalEnv, requireEnv } from "#lambdas/shared/env.ts";

/** The folder of captured requests in the artifact bucket (its lifecycle rule expires it). */
export const CAPTURE_PREFIX = "capture/";

/**
 * Where captured requests live (docs/monitoring.md): `s3://<bucket>/capture` on AWS, a folder of the
 * platform's data folder in local mode (CAPTURE_ROOT). Both hold the same layout below it.
 */
export type CaptureRoot =
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string }
  | { readonly kind: "folder"; readonly path: string };

export function captureRoot(): CaptureRoot {
  const folder = optionalEnv("CAPTURE_ROOT" satisfies StepSetting, "");
  if (folder) return { kind: "folder", path: folder };
  return { kind: "s3", bucket: requireEnv("BUCKET_NAME"), prefix: CAPTURE_PREFIX };
}

/** `{root}/{deploymentId}/{target}`: what a runtime gets as BYOM_CAPTURE_URI. */
export function captureUri(deploymentId: string, target: string): string {
  const root = captureRoot();
  return root.kind === "s3"
    ? `s3://${root.bucket}/${root.prefix}${deploymentId}/${target}`
    : `file://${join(root.path, deploymentId, target)}`;
}
