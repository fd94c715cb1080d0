/**
 * Names the AWS serving adapter gives resources and the CDK app's IAM policies name (no SDK here,
 * so the CDK app loads it freely).
 */

/** Capturing deployments' task roles: `byom-capture-<deploymentId>` under this path. */
export const CAPTURE_ROLE_PATH = "/byom/capture/";
export const captureRoleName = (deploymentId: string) => `byom-capture-${deploymentId}`;
