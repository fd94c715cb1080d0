import { createHash } from "node:crypto";

/*
 * Names of imported images' execution roles (lambdas/catalog/images/execution-role.ts), which the
 * CDK app's IAM policies name too (no SDK here, so the CDK app loads it freely).
 */

/** Roles live under this path (the CDK app scopes CreateRole and PassRole to it). */
export const IMAGE_ROLE_PATH = "/byom/images/";

/** `byom-image-<hash of kind and name>`: within IAM's 64 characters whatever the entry's name. */
export const executionRoleName = (kind: string, name: string) =>
  `byom-image-${createHash("sha256").update(`${kind}\n${name}`).digest("hex").slice(0, 32)}`;
